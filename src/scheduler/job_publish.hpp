// What a node tells the cluster about one of its jobs (the cluster's job set, `solocron jobs`).
//
// The definition is a JSON object with everything that decides when and how the job runs, and
// nothing secret: environment values, header values, request bodies and URL passwords are left
// out (a command's argv is in, as `ps` shows it anyway). The fingerprint is a stable hash of
// that object, so two nodes whose fingerprints differ run different definitions (drift).
#pragma once

#include "solocron/job.hpp"
#include "solocron/store.hpp"

namespace solocron::detail {

PublishedJob published_job(const JobSpec& spec, bool paused);

}  // namespace solocron::detail
