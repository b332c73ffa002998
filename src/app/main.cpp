// The crammer command: everything lives in crammer_app.
#include "crammer/app/commands.hpp"

int main(int argc, char** argv) { return crammer::app_main(argc, argv); }
