# Run PROGRAM MODE on two ranks under MPIEXEC and check the job's exit code:
# WANT is a number, or "nonzero"; WANT_TEXT (optional) must appear in the
# output. Prints the closing line ctest shows.
execute_process(COMMAND ${MPIEXEC} ${NP_FLAG} 2 ${PROGRAM} ${MODE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE errout)
message("${out}${errout}")
if(WANT STREQUAL "nonzero")
  if(rc EQUAL 0)
    message(FATAL_ERROR "mpi_expect_exit: ${MODE}: the job exited 0, expected a failure")
  endif()
elseif(NOT rc EQUAL WANT)
  message(FATAL_ERROR "mpi_expect_exit: ${MODE}: the job exited ${rc}, expected ${WANT}")
endif()
if(DEFINED WANT_TEXT)
  string(FIND "${out}${errout}" "${WANT_TEXT}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "mpi_expect_exit: ${MODE}: the output lacks '${WANT_TEXT}'")
  endif()
endif()
message("mpi_expect_exit: ${MODE}: exit code ${rc} as expected (${WANT})")
