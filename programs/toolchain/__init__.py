"""The SBF toolchain: a build driver (clang-14 -> llvm-link-14 -> llc-14) and the project's SBPFv0 linker."""
