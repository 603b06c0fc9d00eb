# The CLI tests' sanitizer reports (a sanitizer build points ASan, LSan and
# UBSan at one log directory, so a report counts even when a test does not
# look at evtool's exit status or stderr).
#   cmake -DDIR=... -DACTION=reset -P sanitizer_logs.cmake   empty the directory
#   cmake -DDIR=... -DACTION=check -P sanitizer_logs.cmake   fail on any report
if(ACTION STREQUAL "reset")
  file(REMOVE_RECURSE "${DIR}")
  file(MAKE_DIRECTORY "${DIR}")
elseif(ACTION STREQUAL "check")
  file(GLOB reports "${DIR}/*")
  if(reports)
    list(LENGTH reports n)
    foreach(report ${reports})
      file(READ "${report}" text)
      message("==== ${report}\n${text}")
    endforeach()
    message(FATAL_ERROR "${n} sanitizer report(s) from the CLI tests, in ${DIR}")
  endif()
  message("no sanitizer reports")
else()
  message(FATAL_ERROR "ACTION must be reset or check")
endif()
