// snapvol: the command line. Everything lives in driver/cli.
#include "driver/cli/cli.h"

int main(int argc, char** argv) { return snapvol::cli::Run(argc, argv); }
