# snapvol-driver, the CSI driver binary (included from driver/cmd/CMakeLists.txt).
add_executable(snapvol-driver ${CMAKE_CURRENT_LIST_DIR}/snapvol_driver_main.cc)
target_link_libraries(snapvol-driver PRIVATE snapvol_csi)
install(TARGETS snapvol-driver RUNTIME DESTINATION bin)
