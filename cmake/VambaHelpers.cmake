# Small helpers shared by every folder.

# vamba_glob_sources(<out-var> <dir>...): the .cc files of the given folders, without tests.
# Files named *_cuda.cc hold host code that calls the CUDA runtime; they join only CUDA builds, and
# their *_nocuda.cc twins (which report "built without CUDA") join only CPU builds.
function(vamba_glob_sources out)
  set(result)
  foreach(dir IN LISTS ARGN)
    file(GLOB cc CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*.cc)
    foreach(f IN LISTS cc)
      if(f MATCHES "_cuda\\.cc$")
        if(VAMBA_CUDA)
          list(APPEND result ${f})
        endif()
      elseif(f MATCHES "_nocuda\\.cc$")
        if(NOT VAMBA_CUDA)
          list(APPEND result ${f})
        endif()
      else()
        list(APPEND result ${f})
      endif()
    endforeach()
    if(VAMBA_CUDA)
      file(GLOB cu CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/${dir}/*.cu)
      list(APPEND result ${cu})
    endif()
  endforeach()
  set(${out} ${result} PARENT_SCOPE)
endfunction()

# vamba_add_test(<name> SOURCES <files> [LIBS <targets>] [LABELS <labels>] [TIMEOUT <s>])
# One GoogleTest binary; each TEST becomes its own ctest case so failures name the test.
function(vamba_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} vamba_testing GTest::gtest_main vamba_warnings)
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 600)
  endif()
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 120 PROPERTIES TIMEOUT ${T_TIMEOUT})
  # Labels are set by a second include file that runs after discovery: gtest_discover_tests writes
  # its PROPERTIES unquoted, so a list of labels would lose its separators there.
  set(label_file ${CMAKE_CURRENT_BINARY_DIR}/${name}_labels.cmake)
  file(WRITE ${label_file}
    "if(DEFINED ${name}_TESTS)\n  set_tests_properties(\${${name}_TESTS} PROPERTIES LABELS \"${T_LABELS}\")\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${label_file})
endfunction()
