# Writes solocron.1.gz from the binary's own --help texts, so the page never drifts from the
# program: help2man (Debian `help2man`) makes the page from `solocron --help` and `--version`;
# this script adds a COMMANDS section with each subcommand's --help, and the hand-written
# sections of INCLUDE (files, environment, signals, exit status).
# Run as: cmake -DBIN=... -DHELP2MAN=... -DGZIP=... -DINCLUDE=... -DOUT=.../solocron.1.gz
#               -P solocron_manpage.cmake
foreach(var BIN HELP2MAN GZIP INCLUDE OUT)
  if(NOT ${var})
    message(FATAL_ERROR "solocron_manpage.cmake: ${var} is not set (help2man and gzip are "
                        "Debian packages of the same names)")
  endif()
endforeach()

get_filename_component(bin_dir ${BIN} DIRECTORY)
get_filename_component(work ${OUT} DIRECTORY)

function(help_text out)
  execute_process(COMMAND ${BIN} ${ARGN} --help OUTPUT_VARIABLE text RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${BIN} ${ARGN} --help failed (${rc})")
  endif()
  # The usage line names the program as it was called: the page names it as users type it.
  string(REPLACE "${BIN}" "solocron" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# roff: a backslash is \e, a minus sign \-, and a line may not start with . or '.
function(roff_escape out text)
  string(REPLACE "\\" "\\e" text "${text}")
  string(REPLACE "-" "\\-" text "${text}")
  string(REGEX REPLACE "^([.'])" "\\\\&\\1" text "${text}")
  set(${out} "${text}" PARENT_SCOPE)
endfunction()

# One subcommand's --help as roff: its summary, usage, and each option as a tagged paragraph.
function(command_section out name)
  help_text(text ${name})
  # A CMake list keeps "[...;...]" as one element: brackets stand aside while lines are split.
  string(REPLACE "[" "<lb>" text "${text}")
  string(REPLACE "]" "<rb>" text "${text}")
  string(REPLACE ";" "<sc>" text "${text}")
  string(REPLACE "\n" ";" lines "${text}")
  set(roff ".SS \"solocron ${name}\"\n")
  foreach(line IN LISTS lines)
    if(line MATCHES "^Usage: (.*)$")
      roff_escape(usage "${CMAKE_MATCH_1}")
      string(APPEND roff ".PP\n\\fB${usage}\\fR\n")
    elseif(line MATCHES "^(Options|Positionals):$" OR line STREQUAL "")
    elseif(line MATCHES "^  ([^ ].*[^ ])  +([^ ].*)$")       # option, then its description
      roff_escape(tag "${CMAKE_MATCH_1}")
      roff_escape(desc "${CMAKE_MATCH_2}")
      string(APPEND roff ".TP\n\\fB${tag}\\fR\n${desc}\n")
    elseif(line MATCHES "^  ([^ ].*)$")                    # an option whose text wraps below
      roff_escape(tag "${CMAKE_MATCH_1}")
      string(APPEND roff ".TP\n\\fB${tag}\\fR\n")
    elseif(line MATCHES "^ +([^ ].*)$")                    # the wrapped description
      roff_escape(desc "${CMAKE_MATCH_1}")
      string(APPEND roff "${desc}\n")
    else()                                                 # the summary line
      roff_escape(desc "${line}")
      string(APPEND roff ".PP\n${desc}\n")
    endif()
  endforeach()
  string(REPLACE "<lb>" "[" roff "${roff}")
  string(REPLACE "<rb>" "]" roff "${roff}")
  string(REPLACE "<sc>" ";" roff "${roff}")
  set(${out} "${roff}" PARENT_SCOPE)
endfunction()

# The subcommands are those `solocron --help` lists, in its order.
help_text(top)
string(REGEX REPLACE "^.*\nSubcommands:\n" "" list "${top}")
string(REGEX MATCHALL "(^|\n)  [a-z]+" names "${list}")
set(commands "[COMMANDS]\n")
foreach(name IN LISTS names)
  string(STRIP "${name}" name)
  command_section(section ${name})
  string(APPEND commands "${section}")
endforeach()
file(WRITE ${work}/solocron.commands.h2m "${commands}")

execute_process(
  COMMAND ${CMAKE_COMMAND} -E env PATH=${bin_dir}:/usr/bin:/bin
          ${HELP2MAN} --no-info --section 1
          --name "cron jobs that run exactly once across a cluster"
          --include ${work}/solocron.commands.h2m --include ${INCLUDE}
          --output ${work}/solocron.1 solocron
  RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "help2man failed (${rc})")
endif()
# -n: no file name or time stamp in the header, so the same page gives the same bytes.
execute_process(COMMAND ${GZIP} -9nf ${work}/solocron.1 RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip failed (${rc})")
endif()
