// snapvol-driver: the CSI driver. Everything lives in driver/csi.
#include "driver/csi/driver_app.h"

int main(int argc, char** argv) { return snapvol::csi::RunDriver(argc, argv); }
