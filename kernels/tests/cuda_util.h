// Error checks shared by the native CUDA tools (tests and benchmark).
#pragma once
#include <cstdio>
#include <cstdlib>

#include <cuda_runtime.h>

#include "alto/kernels.h"

#define CHECK_CUDA(expr)                                                                          \
  do {                                                                                            \
    cudaError_t e_ = (expr);                                                                      \
    if (e_ != cudaSuccess) {                                                                      \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #expr, cudaGetErrorString(e_)); \
      std::exit(2);                                                                               \
    }                                                                                             \
  } while (0)

#define CHECK_ALTO(expr)                                                                          \
  do {                                                                                            \
    alto_status s_ = (expr);                                                                      \
    if (s_ != ALTO_OK) {                                                                          \
      std::fprintf(stderr, "%s:%d %s: %s\n", __FILE__, __LINE__, #expr, alto_status_string(s_)); \
      std::exit(3);                                                                               \
    }                                                                                             \
  } while (0)
