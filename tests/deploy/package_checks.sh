# The checks of tests/deploy/test_package.sh, one function each (sourced, not run).

step() { echo; echo "== $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# lintian's errors fail the test; its warnings are printed (there are none today).
check_lintian() {
  local out rc=0
  out=$(lintian --fail-on error "$1" 2>&1) || rc=$?
  [[ -n $out ]] && echo "$out"
  [[ $rc -eq 0 ]] || fail "lintian reports errors ($rc)"
  echo "lintian: no errors, $(grep -c '^W: ' <<<"$out" || true) warnings"
}

# Exactly what a host's operator needs: no headers, static libraries or CMake files.
check_file_list() {
  local expected actual
  expected=$(sort <<'EOF'
./etc/solocron/jobs.yaml
./lib/systemd/system/solocron.service
./usr/bin/solocron
./usr/share/doc/solocron/changelog.gz
./usr/share/doc/solocron/copyright
./usr/share/doc/solocron/install.md
./usr/share/man/man1/solocron.1.gz
./usr/share/solocron/solocron-alerts.yaml
EOF
)
  actual=$(dpkg-deb -c "$1" | awk '$1 !~ /^d/ {print $6}' | sort)
  diff <(echo "$expected") <(echo "$actual") || fail "the package's files differ from the list above (< expected, > found)"
  dpkg-deb -c "$1" | awk '$2 != "root/root" {print; bad=1} END {exit bad}' || fail "files not owned by root"
  echo "$(wc -l <<<"$actual") files, as expected"
}

check_control() {
  local deb=$1 version=$2 depends
  [[ $(dpkg-deb -f "$deb" Version) == "$version" ]] || fail "Version is $(dpkg-deb -f "$deb" Version), not $version"
  depends=$(dpkg-deb -f "$deb" Depends)
  echo "Depends: $depends"
  # adduser and tzdata by hand, the libraries from dpkg-shlibdeps (libc6 is always among them).
  for dep in adduser tzdata init-system-helpers libc6 libsqlite3-0 libpq5; do
    grep -qE "(^|, )$dep( |,|$)" <<<"$depends" || fail "Depends lacks $dep"
  done
  [[ $(dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles) == "/etc/solocron/jobs.yaml" ]] ||
    fail "conffiles is not just /etc/solocron/jobs.yaml"
}

# The page is made from the binary's --help: every subcommand it lists has a section.
check_man_page() {
  local deb=$1 dir=$2 page text warnings name
  dpkg-deb -x "$deb" "$dir"
  page=$dir/usr/share/man/man1/solocron.1.gz
  warnings=$(MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
  [[ -z $warnings ]] || fail "man page warnings: $warnings"
  # man-db drops bold and underline itself when its output is not a terminal.
  text=$(MANWIDTH=200 man -l "$page")
  local names
  names=$("$dir/usr/bin/solocron" --help | sed -n '/^Subcommands:/,$ s/^  \([a-z]*\) .*/\1/p')
  [[ $(wc -w <<<"$names") -ge 10 ]] || fail "solocron --help lists only: $names"
  for name in $names; do
    grep -q "^   solocron $name\$" <<<"$text" || fail "the man page has no section 'solocron $name'"
  done
  for heading in FILES ENVIRONMENT SIGNALS "EXIT STATUS"; do
    grep -q "^$heading\$" <<<"$text" || fail "the man page has no $heading section"
  done
  echo "man page: $(wc -w <<<"$names") subcommands, no warnings"
}

# The names of every file under the trees a package may touch (/lib is /usr/lib on a merged
# /usr), and the users and groups.
# Left out: podman's storage, which other tests on a shared machine change meanwhile.
snapshot() {
  find /etc /usr /lib /var/lib -xdev -path /var/lib/containers -prune -o -print | sort
  getent passwd | cut -d: -f1,3
  getent group | cut -d: -f1,3
}

check_installed() {
  local version=$1 entry
  [[ $(solocron --version) == "solocron $version" ]] || fail "solocron --version: $(solocron --version)"
  entry=$(getent passwd solocron) || fail "no user solocron"
  IFS=: read -r _ _ uid gid _ home shell <<<"$entry"
  [[ $uid -lt 1000 && $home == /var/lib/solocron && $shell == /usr/sbin/nologin ]] ||
    fail "user solocron is not a system user with home /var/lib/solocron: $entry"
  [[ $(getent group solocron | cut -d: -f3) == "$gid" ]] || fail "solocron's group is not its own"
  dpkg-query -W -f='${Conffiles}\n' solocron | grep -q '^ /etc/solocron/jobs.yaml [0-9a-f]\{32\}$' ||
    fail "jobs.yaml is not a conffile: $(dpkg-query -W -f='${Conffiles}' solocron)"
  solocron check /etc/solocron/jobs.yaml || fail "solocron check rejects the shipped jobs.yaml"
  echo "installed: version $version, user solocron ($uid:$gid), conffile, check passes"
}

# verify exits 0 on mere warnings (an unknown key): any output is a failure too.
check_unit() {
  local unit=/lib/systemd/system/solocron.service out
  out=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $out"
  [[ -z $out ]] || fail "systemd-analyze verify warns: $out"
  echo "systemd-analyze verify: clean"
  systemd-analyze security --offline=yes "$unit" 2>&1 | grep 'Overall exposure' || true
  [[ -L /etc/systemd/system/multi-user.target.wants/solocron.service ]] ||
    fail "the unit is not enabled (deb-systemd-helper enable)"
}

# The installed binary, as the user solocron (setpriv execs it: $! is solocron itself), on a
# store of its own: it starts, and SIGTERM drains it and exits 0.
check_node_runs() {
  local dir=$1 rc=0
  mkdir -p "$dir" && chown solocron:solocron "$dir"
  (cd "$dir" && exec setpriv --reuid=solocron --regid=solocron --init-groups -- \
     /usr/bin/solocron run --config /etc/solocron/jobs.yaml --store "sqlite://$dir/state.db") \
    2>"$dir/log" &
  node_pid=$!
  for _ in $(seq 300); do
    grep -q node_started "$dir/log" && break
    kill -0 "$node_pid" 2>/dev/null || { cat "$dir/log"; fail "the node exited at start"; }
    sleep 0.1
  done
  grep -q node_started "$dir/log" || { cat "$dir/log"; fail "no node_started in 30 s"; }
  [[ $(ps -o user= -p "$node_pid") == solocron ]] || fail "the node does not run as solocron"
  kill -TERM "$node_pid"
  wait "$node_pid" || rc=$?
  node_pid=""
  cat "$dir/log"
  [[ $rc -eq 0 ]] || fail "the node exited $rc on SIGTERM"
  grep -q lease_released "$dir/log" || fail "the node did not release its lease"
  echo "ran as solocron, SIGTERM: exit 0"
}

check_purged() {
  local before=$1
  dpkg-query -W -f='${Status}\n' solocron 2>/dev/null | grep -qv 'not-installed' &&
    fail "dpkg still knows solocron: $(dpkg-query -W -f='${Status}' solocron)"
  diff "$before" <(snapshot) || fail "the purge left these differences (< before install, > after purge)"
  echo "nothing left: files under /etc /usr /var/lib, users and groups as before the install"
}
