/* arch/cc.h - lwIP's compiler and platform glue for the freestanding
 * kernel (lwIP 2.1 doc/sys_arch.txt, "cc.h"). */
#ifndef LWIP_ARCH_CC_H
#define LWIP_ARCH_CC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H    1
#define LWIP_NO_UNISTD_H   1
#define SSIZE_MAX          INT64_MAX
typedef int64_t ssize_t;

#define X8_F  "02x"
#define U16_F "u"
#define S16_F "d"
#define X16_F "x"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

#ifndef BYTE_ORDER             /* a host build (unit tests) has it from libc */
#define BYTE_ORDER LITTLE_ENDIAN
#endif
#define LWIP_PLATFORM_BYTESWAP 1
#define LWIP_PLATFORM_HTONS(x) __builtin_bswap16(x)
#define LWIP_PLATFORM_HTONL(x) __builtin_bswap32(x)

#define LWIP_PROVIDE_ERRNO 1

int kprintf(const char *fmt, ...);
void panic(const char *fmt, ...) __attribute__((noreturn));
#define LWIP_PLATFORM_DIAG(x) do { kprintf x; } while (0)
#define LWIP_PLATFORM_ASSERT(x) panic("lwip: assertion \"%s\" failed at %s:%d", x, __FILE__, __LINE__)

uint32_t lwip_port_rand(void);
#define LWIP_RAND() lwip_port_rand()

#endif
