// LD_PRELOAD shim for the TCP_NODELAY comparison (issue 5): setsockopt(TCP_NODELAY, 1)
// succeeds without doing anything, so a process keeps Nagle's algorithm on. Bench only:
// errbridge has no switch for it, and the benchmark must not change the daemon.
#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

extern "C" int setsockopt(int fd, int level, int name, const void* value, socklen_t length) {
    using Real = int (*)(int, int, int, const void*, socklen_t);
    static Real real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "setsockopt"));
    if (level == IPPROTO_TCP && name == TCP_NODELAY) return 0;
    return real(fd, level, name, value, length);
}
