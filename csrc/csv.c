/* csv.c: the CSV tokenizer behind cnn.data.csv.read and the genotype text readers: fields
 * separated by one character (or runs of blanks when sep is ' ', as PLINK writes), RFC 4180
 * quotes ("" inside quotes is a quote; a quoted field may span lines), CRLF or LF. It only
 * splits; lua_data.c decides which columns are numbers. Spec: csv_spec.lua. */
#include "data.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void cnn_csv_init(cnn_csv *r, const char *text, size_t n, char sep, char *scratch) {
    r->p = text;
    r->end = text + n;
    r->sep = sep;
    r->scratch = scratch;
    r->line = 1;
    r->row_line = 1;
    r->err = NULL;
    r->trailing = 0;
}

static int is_blank(char ch) { return ch == ' ' || ch == '\t'; }

/* the field is copied (unquoted) to scratch, which advances, so fields of one row stay valid */
int cnn_csv_field(cnn_csv *r, const char **field, size_t *len, int *last) {
    const char *p = r->p, *end = r->end;
    if (r->sep == ' ') while (p < end && is_blank(*p)) p++;
    if (p >= end && r->trailing) {
        r->trailing = 0;
        *field = r->scratch;
        *len = 0;
        *r->scratch++ = 0;
        *last = 1;
        return 1;
    }
    if (p >= end) { r->p = p; return 0; }
    char *out = r->scratch;
    int64_t start_line = r->line;
    if (*p == '"') {
        p++;
        for (;;) {
            if (p >= end) {
                r->err = "unterminated quoted field";
                r->line = start_line;
                return -1;
            }
            if (*p == '"') {
                if (p + 1 < end && p[1] == '"') { *out++ = '"'; p += 2; continue; }
                p++;
                break;
            }
            if (*p == '\n') r->line++;
            *out++ = *p++;
        }
        if (r->sep == ' ') while (p < end && is_blank(*p)) p++;
        if (p < end && *p != r->sep && *p != '\n' && *p != '\r' && !(r->sep == ' ' && is_blank(*p))) {
            r->err = "text after a closing quote";
            return -1;
        }
    } else {
        while (p < end && *p != '\n' && *p != '\r' && !(r->sep == ' ' ? is_blank(*p) : *p == r->sep)) *out++ = *p++;
        if (r->sep == ' ') while (p < end && is_blank(*p)) p++;
    }
    *field = r->scratch;
    *len = (size_t)(out - r->scratch);
    *out++ = 0;
    r->scratch = out;
    /* what ends the field: a separator (more to come), a line end or the end of text */
    if (p < end && *p == r->sep && r->sep != ' ') {
        p++;
        *last = 0;
        r->trailing = p >= end;     /* "a,b," at the very end: one more, empty field */
    } else if (p < end && *p != '\n' && *p != '\r') {
        *last = 0;             /* blank-separated: the next field follows */
    } else {
        if (p < end && *p == '\r') p++;
        if (p < end && *p == '\n') p++;
        r->line++;
        *last = 1;
    }
    r->p = p;
    return 1;
}

int cnn_csv_number(const char *f, size_t len, double *v) {
    while (len && is_blank(*f)) { f++; len--; }
    while (len && is_blank(f[len - 1])) len--;
    if (len == 0 || (len == 2 && strncmp(f, "NA", 2) == 0) || (len == 3 && strncasecmp(f, "nan", 3) == 0) ||
        (len == 3 && strncmp(f, "N/A", 3) == 0)) {
        *v = NAN;
        return 1;
    }
    char buf[64];
    if (len >= sizeof buf) return 0;
    memcpy(buf, f, len);
    buf[len] = 0;
    char *e;
    *v = strtod(buf, &e);
    return *e == 0;
}
