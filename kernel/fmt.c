/* fmt.c - printf formatting for the console and for services that render
 * text into buffers. Pure: no hardware, no allocation. */
#include "fmt.h"

#include <stdint.h>

struct spec {
	int left;      /* '-' flag */
	int zero;      /* '0' flag */
	int width;
	int prec;      /* -1 when absent */
};

static int emit_pad(void (*out)(char, void *), void *arg, char c, int n)
{
	for (int i = 0; i < n; i++)
		out(c, arg);
	return n > 0 ? n : 0;
}

static int emit_str(void (*out)(char, void *), void *arg, const char *s, int len,
		    const struct spec *sp, char padc)
{
	int n = 0, pad = sp->width - len;
	if (!sp->left)
		n += emit_pad(out, arg, padc, pad);
	for (int i = 0; i < len; i++)
		out(s[i], arg);
	n += len;
	if (sp->left)
		n += emit_pad(out, arg, ' ', pad);
	return n;
}

static int emit_num(void (*out)(char, void *), void *arg, uint64_t v, int neg,
		    unsigned base, int upper, const struct spec *sp)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char tmp[24];
	int len = 0, n = 0;
	do {
		tmp[len++] = digits[v % base];
		v /= base;
	} while (v);
	int total = len + (neg ? 1 : 0);
	int pad = sp->width - total;
	if (!sp->left && !sp->zero)
		n += emit_pad(out, arg, ' ', pad);
	if (neg) {
		out('-', arg);
		n++;
	}
	if (!sp->left && sp->zero)
		n += emit_pad(out, arg, '0', pad);
	while (len)
		out(tmp[--len], arg), n++;
	if (sp->left)
		n += emit_pad(out, arg, ' ', pad);
	return n;
}

int fmt_format(void (*out)(char c, void *arg), void *arg, const char *fmt, va_list ap)
{
	int n = 0;
	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			out(*fmt, arg);
			n++;
			continue;
		}
		struct spec sp = { 0, 0, 0, -1 };
		fmt++;
		for (;; fmt++) {
			if (*fmt == '-')
				sp.left = 1;
			else if (*fmt == '0')
				sp.zero = 1;
			else
				break;
		}
		if (*fmt == '*') {
			sp.width = va_arg(ap, int);
			fmt++;
		}
		while (*fmt >= '0' && *fmt <= '9')
			sp.width = sp.width * 10 + (*fmt++ - '0');
		if (*fmt == '.') {
			fmt++;
			sp.prec = 0;
			if (*fmt == '*') {
				sp.prec = va_arg(ap, int);
				fmt++;
			}
			while (*fmt >= '0' && *fmt <= '9')
				sp.prec = sp.prec * 10 + (*fmt++ - '0');
		}
		int lng = 0;   /* 0 int, 1 long, 2 long long / size_t, -1 short */
		for (;; fmt++) {
			if (*fmt == 'l')
				lng++;
			else if (*fmt == 'z' || *fmt == 'j' || *fmt == 't')
				lng = 2;
			else if (*fmt == 'h')
				lng = -1;
			else
				break;
		}
		switch (*fmt) {
		case 'd':
		case 'i': {
			int64_t v = lng >= 1 ? va_arg(ap, long long) : va_arg(ap, int);
			if (lng == 1)
				v = (long)v;
			uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
			n += emit_num(out, arg, u, v < 0, 10, 0, &sp);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
		case 'o': {
			uint64_t v = lng >= 1 ? va_arg(ap, unsigned long long) : va_arg(ap, unsigned int);
			unsigned base = *fmt == 'u' ? 10 : *fmt == 'o' ? 8 : 16;
			n += emit_num(out, arg, v, 0, base, *fmt == 'X', &sp);
			break;
		}
		case 'p': {
			uintptr_t v = (uintptr_t)va_arg(ap, void *);
			out('0', arg);
			out('x', arg);
			n += 2 + emit_num(out, arg, v, 0, 16, 0, &sp);
			break;
		}
		case 'c': {
			char c = (char)va_arg(ap, int);
			n += emit_str(out, arg, &c, 1, &sp, ' ');
			break;
		}
		case 's': {
			const char *s = va_arg(ap, const char *);
			if (!s)
				s = "(null)";
			int len = 0;
			while (s[len] && (sp.prec < 0 || len < sp.prec))
				len++;
			n += emit_str(out, arg, s, len, &sp, ' ');
			break;
		}
		case '%':
			out('%', arg);
			n++;
			break;
		case '\0':
			return n;
		default:
			out('%', arg);
			out(*fmt, arg);
			n += 2;
		}
	}
	return n;
}

struct bufout {
	char *buf;
	size_t size;
	size_t pos;
};

static void buf_put(char c, void *arg)
{
	struct bufout *b = arg;
	if (b->pos + 1 < b->size)
		b->buf[b->pos] = c;
	b->pos++;
}

int fmt_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct bufout b = { buf, size, 0 };
	int n = fmt_format(buf_put, &b, fmt, ap);
	if (size)
		buf[b.pos < size ? b.pos : size - 1] = '\0';
	return n;
}

int fmt_snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = fmt_vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}
