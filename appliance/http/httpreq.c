/* httpreq.c - request line and the few headers the appliance reads:
 * Content-Length, Transfer-Encoding, Connection, Authorization. */
#include "httpreq.h"

#include "../../kernel/parse.h"

static char lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

static bool name_is(const char *s, size_t n, const char *lit)
{
	size_t i = 0;
	for (; i < n && lit[i]; i++)
		if (lower(s[i]) != lit[i])
			return false;
	return i == n && !lit[i];
}

static bool has_token(const char *v, size_t n, const char *tok)
{
	size_t tl = 0;
	while (tok[tl])
		tl++;
	for (size_t i = 0; i + tl <= n; i++) {
		if (i > 0 && v[i - 1] != ' ' && v[i - 1] != ',' && v[i - 1] != '\t')
			continue;
		size_t k = 0;
		while (k < tl && lower(v[i + k]) == tok[k])
			k++;
		if (k == tl && (i + tl == n || v[i + tl] == ',' || v[i + tl] == ' ' ||
				v[i + tl] == '\t'))
			return true;
	}
	return false;
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '.' || c == '!' || c == '#' || c == '$' ||
	       c == '%' || c == '&' || c == '\'' || c == '*' || c == '+' || c == '^' ||
	       c == '`' || c == '|' || c == '~';
}

int http_parse_head(const char *buf, size_t len, struct http_req *r)
{
	/* Find the end of the head: CRLF CRLF (bare LF accepted too). */
	size_t end = 0;
	for (size_t i = 0; i < len && i < HTTP_HEAD_MAX; i++) {
		if (buf[i] != '\n')
			continue;
		if (i >= 1 && buf[i - 1] == '\n') {
			end = i + 1;
			break;
		}
		if (i >= 2 && buf[i - 1] == '\r' && buf[i - 2] == '\n') {
			end = i + 1;
			break;
		}
	}
	if (!end)
		return len >= HTTP_HEAD_MAX ? -431 : 0;

	r->method[0] = r->path[0] = r->query[0] = r->auth[0] = r->if_none_match[0] = '\0';
	r->minor = 1;
	r->content_length = -1;
	r->chunked = false;
	r->close = false;
	r->auth_truncated = false;
	r->head_len = end;

	/* Request line: METHOD SP target SP HTTP/1.x */
	size_t i = 0, k = 0;
	while (i < end && tchar(buf[i])) {
		if (k + 1 >= sizeof(r->method))
			return -400;
		r->method[k++] = buf[i++];
	}
	r->method[k] = '\0';
	if (!k || i >= end || buf[i] != ' ')
		return -400;
	i++;
	if (i >= end || buf[i] != '/')
		return -400;
	k = 0;
	while (i < end && buf[i] != ' ' && buf[i] != '?') {
		if ((unsigned char)buf[i] <= 0x20 || buf[i] == 0x7f || k + 1 >= sizeof(r->path))
			return -400;
		r->path[k++] = buf[i++];
	}
	r->path[k] = '\0';
	if (i < end && buf[i] == '?') {
		i++;
		k = 0;
		while (i < end && buf[i] != ' ') {
			if ((unsigned char)buf[i] <= 0x20 || buf[i] == 0x7f || k + 1 >= sizeof(r->query))
				return -400;
			r->query[k++] = buf[i++];
		}
		r->query[k] = '\0';
	}
	if (i >= end || buf[i] != ' ')
		return -400;
	i++;
	if (end - i < 9 || buf[i] != 'H' || buf[i + 1] != 'T' || buf[i + 2] != 'T' ||
	    buf[i + 3] != 'P' || buf[i + 4] != '/' || buf[i + 6] != '.')
		return -400;
	if (!digit(buf[i + 5]) || !digit(buf[i + 7]))
		return -400;
	size_t ve = i + 8;
	if (buf[ve] == '\r')
		ve++;
	if (buf[ve] != '\n')
		return -400;    /* HTTP/1.10, or a fourth part on the line */
	if (buf[i + 5] != '1')
		return -505;
	r->minor = buf[i + 7] - '0';
	i = ve;
	i++;
	if (r->minor == 0)
		r->close = true;

	/* Header fields. */
	while (i < end) {
		size_t ls = i;
		while (i < end && buf[i] != '\n')
			i++;
		size_t le = i;          /* at '\n' */
		i++;
		if (le > ls && buf[le - 1] == '\r')
			le--;
		if (le == ls)
			break;          /* the blank line */
		size_t c = ls;
		while (c < le && tchar(buf[c]))
			c++;
		if (c == ls || c >= le || buf[c] != ':')
			return -400;
		const char *name = buf + ls;
		size_t nlen = c - ls;
		size_t vs = c + 1, ve = le;
		while (vs < ve && (buf[vs] == ' ' || buf[vs] == '\t'))
			vs++;
		while (ve > vs && (buf[ve - 1] == ' ' || buf[ve - 1] == '\t'))
			ve--;
		const char *v = buf + vs;
		size_t vlen = ve - vs;
		for (size_t j = 0; j < vlen; j++)
			if (v[j] == '\0')
				return -400;    /* RFC 9110 5.5: NUL in a field value */
		if (name_is(name, nlen, "content-length")) {
			if (!vlen || r->content_length >= 0)
				return -400;    /* empty or repeated */
			uint64_t n = 0;
			enum parse_result pr = parse_u64(v, vlen, UINT64_MAX, &n);
			if (pr == PARSE_BAD)
				return -400;
			/* Beyond any body we take, however far: one past the limit (413). */
			r->content_length = pr == PARSE_RANGE || n > HTTP_BODY_MAX ? HTTP_BODY_MAX + 1 :
					    (int64_t)n;
		} else if (name_is(name, nlen, "transfer-encoding")) {
			r->chunked = true;
		} else if (name_is(name, nlen, "connection")) {
			if (has_token(v, vlen, "close"))
				r->close = true;
			else if (has_token(v, vlen, "keep-alive"))
				r->close = false;
		} else if (name_is(name, nlen, "if-none-match")) {
			size_t n = vlen < sizeof(r->if_none_match) ? vlen : 0;  /* too long: none */
			for (size_t j = 0; j < n; j++)
				r->if_none_match[j] = v[j];
			r->if_none_match[n] = '\0';
		} else if (name_is(name, nlen, "authorization")) {
			r->auth_truncated = vlen >= sizeof(r->auth);
			if (r->auth_truncated)
				vlen = sizeof(r->auth) - 1;     /* matches no token then */
			for (size_t j = 0; j < vlen; j++)
				r->auth[j] = v[j];
			r->auth[vlen] = '\0';
		}
	}
	return (int)end;
}

int http_query_get(const char *query, const char *name, char *out, size_t outsz)
{
	size_t nl = 0;
	while (name[nl])
		nl++;
	const char *p = query;
	while (*p) {
		const char *amp = p;
		while (*amp && *amp != '&')
			amp++;
		size_t k = 0;
		while (k < nl && p + k < amp && p[k] == name[k])
			k++;
		if (k == nl && p + k < amp && p[k] == '=') {
			const char *v = p + k + 1;
			size_t vl = (size_t)(amp - v);
			if (vl + 1 > outsz)
				return -1;
			for (size_t j = 0; j < vl; j++)
				out[j] = v[j];
			out[vl] = '\0';
			return 1;
		}
		p = *amp ? amp + 1 : amp;
	}
	return 0;
}
