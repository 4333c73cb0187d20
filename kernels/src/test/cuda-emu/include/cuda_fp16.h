// Stand-in for the toolkit's cuda_fp16.h when reflectrm_kernels.cu is compiled by g++ for the CPU
// emulation: __half and its conversions are defined by cuda_emu.h.
#pragma once
#include "../cuda_emu.h"
