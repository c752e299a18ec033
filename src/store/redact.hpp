// Removing passwords from text that people and log collectors read.
//
// A store URL may carry a password (postgres://app:PASSWORD@db/app), and so may the messages
// that quote it: a libpq error, a URL with an unknown scheme, a job's output. Every message
// solocron prints or logs passes through redact_secrets() on its way out, so a password
// reaches neither a terminal, a log file nor a CI transcript, whatever produced the message.
#pragma once

#include <string>
#include <string_view>

namespace solocron::detail {

// The mask that replaces each secret.
inline constexpr std::string_view kRedacted = "***";

// `text` with every password replaced by kRedacted:
// - the password of a URL's userinfo: "scheme://user:PASSWORD@host" -> "scheme://user:***@host"
//   (up to the last '@' of the URL, so a password with a raw '@', '/' or '?' goes whole);
// - the value of a key ending in "password" or "passwd", any case, followed by '=' or ':':
//   libpq conninfo ("password=x", "password = 'x y'"), query strings ("?password=x&..."),
//   environment dumps ("PGPASSWORD=x"), JSON ("password": "x"). A quoted value goes up to its closing quote, any other
//   up to whitespace, '&', '#', ',', ';' or a quote.
// Everything else is unchanged.
std::string redact_secrets(std::string_view text);

}  // namespace solocron::detail
