// goro version. The meson build reads these three defines; they are the only
// place the version is written.
#pragma once

#define GORO_VERSION_MAJOR 0
#define GORO_VERSION_MINOR 1
#define GORO_VERSION_PATCH 0
