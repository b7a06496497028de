/* A minimal SBF program for the localnet deploy tests: logs "hello from localnet" and succeeds.
 * Rebuild: .venv/bin/python programs/toolchain/build.py --out tests/resources/localnet/hello.so \
 *          tests/resources/localnet/hello.c */
typedef unsigned long long u64;
extern void sol_log_(const char *msg, u64 len);

u64 entrypoint(const unsigned char *input) {
    (void)input;
    static const char msg[] = "hello from localnet";
    sol_log_(msg, sizeof(msg) - 1);
    return 0;
}
