/* LD_PRELOAD shim for bench/sfu_janus.py: Janus gathers ICE host candidates from getifaddrs()
 * and skips loopback interfaces, so where the bench may talk only to loopback (TESTING.md) it
 * would offer nothing usable. This shim shows Janus 127.0.0.1 without its IFF_LOOPBACK flag
 * and every other address as down (Janus skips interfaces that are not up and running), so
 * every candidate is 127.0.0.1 and nothing else is ever addressed. The list stays the one
 * getifaddrs() allocated, so freeifaddrs() frees it as usual. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stddef.h>
#include <sys/socket.h>

int getifaddrs(struct ifaddrs **out) {
    int (*real)(struct ifaddrs **) = (int (*)(struct ifaddrs **))dlsym(RTLD_NEXT, "getifaddrs");
    int rc = real(out);
    if (rc != 0)
        return rc;
    for (struct ifaddrs *ifa = *out; ifa != NULL; ifa = ifa->ifa_next) {
        int loopback4 = ifa->ifa_addr != NULL && ifa->ifa_addr->sa_family == AF_INET &&
                        ((struct sockaddr_in *)ifa->ifa_addr)->sin_addr.s_addr ==
                            htonl(INADDR_LOOPBACK);
        if (loopback4)
            ifa->ifa_flags &= ~IFF_LOOPBACK;
        else
            ifa->ifa_flags &= ~(IFF_UP | IFF_RUNNING);
    }
    return 0;
}
