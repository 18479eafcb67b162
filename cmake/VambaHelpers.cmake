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
  # A list value must keep its semicolons escaped through gtest_discover_tests' argument passing.
  string(REPLACE ";" "\\;" labels "${T_LABELS}")
  gtest_discover_tests(${name} DISCOVERY_TIMEOUT 120
    PROPERTIES LABELS "${labels}" TIMEOUT ${T_TIMEOUT})
endfunction()
