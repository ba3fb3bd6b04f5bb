/* safetensors.c: the Lua-free reader behind cnn.load (see safetensors.h): a JSON parser, the
 * container checks and the checkpoint layout checks. Every failure names the place: a byte
 * offset in the file, a tensor's name, a path in the layout. Binding: lua_serialize.c.
 * Spec: serialize_spec.lua. Fuzzed by fuzz/safetensors_fuzz.c and fuzz/checkpoint_fuzz.c. */
#include "safetensors.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON ---- */

typedef struct jparser {
    cnn_ctx *c;
    const char *s;
    size_t n, pos, base;        /* base: offset of s in the file, for messages */
    const char *what;           /* "the header", "the layout" */
} jparser;

static int jfail(jparser *p, const char *msg) {
    return cnn_seterr(p->c, "%s is not valid JSON: %s at byte %zu", p->what, msg, p->base + p->pos);
}

static void skip_ws(jparser *p) {
    while (p->pos < p->n && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' || p->s[p->pos] == '\r')) p->pos++;
}

static int hex4(const char *q, unsigned *v) {
    *v = 0;
    for (int k = 0; k < 4; k++) {
        char ch = q[k];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0) return -1;
        *v = *v * 16 + (unsigned)d;
    }
    return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | cp >> 6); o[1] = (char)(0x80 | (cp & 63)); return 2; }
    if (cp < 0x10000) { o[0] = (char)(0xE0 | cp >> 12); o[1] = (char)(0x80 | (cp >> 6 & 63)); o[2] = (char)(0x80 | (cp & 63)); return 3; }
    o[0] = (char)(0xF0 | cp >> 18); o[1] = (char)(0x80 | (cp >> 12 & 63));
    o[2] = (char)(0x80 | (cp >> 6 & 63)); o[3] = (char)(0x80 | (cp & 63));
    return 4;
}

/* a string at p->pos (the opening quote) -> malloc'd, unescaped, NUL-terminated */
static int jstring(jparser *p, char **out, size_t *outlen) {
    size_t i = p->pos + 1, end = i;
    while (end < p->n && p->s[end] != '"') end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->n) { p->pos = p->n; return jfail(p, "unterminated string"); }
    char *o = malloc(end - i + 1);           /* unescaping never lengthens */
    if (o == NULL) return cnn_seterr(p->c, "out of memory");
    size_t k = 0;
    while (i < end) {
        unsigned char ch = (unsigned char)p->s[i];
        if (ch < 0x20) { free(o); p->pos = i; return jfail(p, "control character in a string"); }
        if (ch != '\\') { o[k++] = (char)ch; i++; continue; }
        char e = p->s[i + 1];
        i += 2;
        switch (e) {
        case '"': o[k++] = '"'; break;
        case '\\': o[k++] = '\\'; break;
        case '/': o[k++] = '/'; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'u': {
            unsigned cp, lo;
            if (end - i < 4 || hex4(p->s + i, &cp) < 0) { free(o); p->pos = i; return jfail(p, "bad \\u escape"); }
            i += 4;
            if (cp >= 0xD800 && cp < 0xDC00 && end - i >= 6 && p->s[i] == '\\' && p->s[i + 1] == 'u' &&
                hex4(p->s + i + 2, &lo) == 0 && lo >= 0xDC00 && lo < 0xE000) {
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            /* 6 escaped bytes give at most 3 (4 for a 12-byte surrogate pair): it fits */
            k += put_utf8(o + k, cp);
            break;
        }
        default: free(o); p->pos = i - 1; return jfail(p, "bad escape");
        }
    }
    o[k] = 0;
    *out = o;
    *outlen = k;
    p->pos = end + 1;
    return 0;
}

static int jvalue(jparser *p, cnn_json *v, int depth);

/* appends a zeroed child to v (arrays and objects) */
static cnn_json *add_kid(jparser *p, cnn_json *v, size_t *cap) {
    if (v->n == *cap) {
        size_t nc = *cap ? 2 * *cap : 4;
        cnn_json *k = realloc(v->kid, nc * sizeof *k);
        if (k == NULL) { cnn_seterr(p->c, "out of memory"); return NULL; }
        v->kid = k;
        *cap = nc;
    }
    cnn_json *k = &v->kid[v->n++];
    memset(k, 0, sizeof *k);
    return k;
}

static int jnumber(jparser *p, cnn_json *v) {
    size_t i = p->pos;
    int integer = 1;
    if (i < p->n && p->s[i] == '-') i++;
    if (i >= p->n || !(p->s[i] >= '0' && p->s[i] <= '9')) return jfail(p, "unexpected character");
    if (p->s[i] == '0') i++; else while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9') i++;
    if (i < p->n && p->s[i] == '.') {
        integer = 0;
        i++;
        if (i >= p->n || !(p->s[i] >= '0' && p->s[i] <= '9')) { p->pos = i; return jfail(p, "bad number"); }
        while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9') i++;
    }
    if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        integer = 0;
        i++;
        if (i < p->n && (p->s[i] == '+' || p->s[i] == '-')) i++;
        if (i >= p->n || !(p->s[i] >= '0' && p->s[i] <= '9')) { p->pos = i; return jfail(p, "bad number"); }
        while (i < p->n && p->s[i] >= '0' && p->s[i] <= '9') i++;
    }
    char buf[64];
    size_t len = i - p->pos;
    v->type = CNN_JNUM;
    if (len < sizeof buf) {
        memcpy(buf, p->s + p->pos, len);
        buf[len] = 0;
        v->num = strtod(buf, NULL);
        if (integer) {
            /* int64 without overflow: at most 18 digits always fit */
            const char *q = buf[0] == '-' ? buf + 1 : buf;
            if (strlen(q) <= 18) { v->is_int = 1; v->ival = strtoll(buf, NULL, 10); }
        }
    } else {
        v->num = p->s[p->pos] == '-' ? -HUGE_VAL : HUGE_VAL;   /* 64 digits or more: out of any range we use */
        char *t = strndup(p->s + p->pos, len);
        if (t) { v->num = strtod(t, NULL); free(t); }
    }
    p->pos = i;
    return 0;
}

static int jvalue(jparser *p, cnn_json *v, int depth) {
    skip_ws(p);
    v->off = p->base + p->pos;
    if (p->pos >= p->n) return jfail(p, "unexpected end");
    char ch = p->s[p->pos];
    if (ch == '{' || ch == '[') {
        if (depth >= CNN_JSON_DEPTH) return jfail(p, "nested too deeply");
        int obj = ch == '{';
        v->type = obj ? CNN_JOBJ : CNN_JARR;
        size_t cap = 0;
        p->pos++;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == (obj ? '}' : ']')) { p->pos++; return 0; }
        for (;;) {
            cnn_json *k = add_kid(p, v, &cap);
            if (k == NULL) return -1;
            if (obj) {
                skip_ws(p);
                if (p->pos >= p->n || p->s[p->pos] != '"') return jfail(p, "expected a member name");
                if (jstring(p, &k->key, &k->keylen) < 0) return -1;
                skip_ws(p);
                if (p->pos >= p->n || p->s[p->pos] != ':') return jfail(p, "expected ':'");
                p->pos++;
            }
            if (jvalue(p, k, depth + 1) < 0) return -1;
            skip_ws(p);
            if (p->pos < p->n && p->s[p->pos] == ',') { p->pos++; continue; }
            if (p->pos < p->n && p->s[p->pos] == (obj ? '}' : ']')) { p->pos++; return 0; }
            return jfail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        }
    }
    if (ch == '"') { v->type = CNN_JSTR; return jstring(p, &v->str, &v->len); }
    static const struct { const char *word; cnn_jtype t; int b; } lits[] = {
        { "true", CNN_JBOOL, 1 }, { "false", CNN_JBOOL, 0 }, { "null", CNN_JNULL, 0 } };
    for (int k = 0; k < 3; k++) {
        size_t l = strlen(lits[k].word);
        if (p->n - p->pos >= l && memcmp(p->s + p->pos, lits[k].word, l) == 0) {
            v->type = lits[k].t;
            v->boolean = lits[k].b;
            p->pos += l;
            return 0;
        }
    }
    return jnumber(p, v);
}

static void jfree_in(cnn_json *j) {
    for (size_t k = 0; k < j->n; k++) jfree_in(&j->kid[k]);   /* depth is bounded by CNN_JSON_DEPTH */
    free(j->kid);
    free(j->str);
    free(j->key);
}

void cnn_json_free(cnn_json *j) {
    if (j == NULL) return;
    jfree_in(j);
    free(j);
}

static cnn_json *parse_at(cnn_ctx *c, const char *text, size_t n, size_t base, const char *what) {
    jparser p = { c, text, n, 0, base, what };
    cnn_json *j = calloc(1, sizeof *j);
    if (j == NULL) { cnn_seterr(c, "out of memory"); return NULL; }
    if (jvalue(&p, j, 0) < 0) { cnn_json_free(j); return NULL; }
    skip_ws(&p);
    if (p.pos != n) { jfail(&p, "unexpected data after the value"); cnn_json_free(j); return NULL; }
    return j;
}

cnn_json *cnn_json_parse(cnn_ctx *c, const char *text, size_t n) { return parse_at(c, text, n, 0, "the text"); }

const cnn_json *cnn_json_get(const cnn_json *o, const char *key) {
    if (o == NULL || o->type != CNN_JOBJ) return NULL;
    size_t l = strlen(key);
    for (size_t k = 0; k < o->n; k++)
        if (o->kid[k].keylen == l && memcmp(o->kid[k].key, key, l) == 0) return &o->kid[k];
    return NULL;
}

/* ---- the container ---- */

/* a name for messages: printable, cut at 60 bytes */
static const char *shown(char *buf, size_t bn, const char *s, size_t len) {
    size_t k = 0;
    for (size_t i = 0; i < len && k + 4 < bn && i < 60; i++) buf[k++] = (s[i] >= 32 && s[i] < 127) ? s[i] : '?';
    if (len > 60 && k + 4 < bn) { buf[k++] = '.'; buf[k++] = '.'; buf[k++] = '.'; }
    buf[k] = 0;
    return buf;
}

static int cmp_begin(const void *a, const void *b) {
    const cnn_st_entry *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

void cnn_st_free(cnn_st_file *f) {
    cnn_json_free(f->header);
    free(f->e);
    memset(f, 0, sizeof *f);
}

/* one entry {dtype, shape, data_offsets} into e */
static int parse_entry(cnn_ctx *c, const cnn_json *v, cnn_st_entry *e, size_t data_len) {
    char nm[80], sb[200];
    const char *name = shown(nm, sizeof nm, e->name, e->namelen);
    const cnn_json *dt = cnn_json_get(v, "dtype"), *sh = cnn_json_get(v, "shape"), *of = cnn_json_get(v, "data_offsets");
    if (v->type != CNN_JOBJ || dt == NULL || sh == NULL || of == NULL || sh->type != CNN_JARR || of->type != CNN_JARR)
        return cnn_seterr(c, "entry '%s' (byte %zu) lacks dtype, shape or data_offsets", name, v->off);
    if (dt->type == CNN_JSTR && strcmp(dt->str, "F32") == 0 && dt->len == 3) e->dtype = CNN_F32;
    else if (dt->type == CNN_JSTR && strcmp(dt->str, "F64") == 0 && dt->len == 3) e->dtype = CNN_F64;
    else if (dt->type == CNN_JSTR && strcmp(dt->str, "I64") == 0 && dt->len == 3) e->dtype = CNN_I64;
    else return cnn_seterr(c, "tensor '%s' has dtype %s; cnn reads F32, F64 and I64", name,
                           dt->type == CNN_JSTR ? shown(sb, sizeof sb, dt->str, dt->len) : "(not a string)");
    if (sh->n > CNN_MAX_DIM) return cnn_seterr(c, "tensor '%s' has %zu dimensions; cnn handles at most %d", name, sh->n, CNN_MAX_DIM);
    e->shape.ndim = (int)sh->n;
    double span = 1;                /* strides multiply the sizes with 0 counted as 1 */
    for (size_t d = 0; d < sh->n; d++) {
        if (!sh->kid[d].is_int || sh->kid[d].ival < 0) return cnn_seterr(c, "tensor '%s' has a bad shape (size %zu is not an integer >= 0)", name, d + 1);
        e->shape.size[d] = sh->kid[d].ival;
        span *= sh->kid[d].ival > 0 ? (double)sh->kid[d].ival : 1.0;
    }
    if (span > 0x1p56) return cnn_seterr(c, "tensor '%s' has shape %s, too large", name, cnn_shape_str(sb, sizeof sb, e->shape.ndim, e->shape.size));
    if (cnn_shape_check(c, &e->shape) < 0) return -1;
    if (of->n != 2 || !of->kid[0].is_int || !of->kid[1].is_int || of->kid[0].ival < 0 || of->kid[1].ival < of->kid[0].ival ||
        (uint64_t)of->kid[1].ival > data_len)
        return cnn_seterr(c, "tensor '%s' has data_offsets outside the %zu data bytes", name, data_len);
    e->begin = (uint64_t)of->kid[0].ival;
    e->end = (uint64_t)of->kid[1].ival;
    uint64_t need = (uint64_t)cnn_shape_numel(&e->shape) * (uint64_t)cnn_dtype_size(e->dtype);
    if (e->end - e->begin != need)
        return cnn_seterr(c, "tensor '%s': data_offsets hold %llu bytes but %s %s needs %llu", name,
                          (unsigned long long)(e->end - e->begin), cnn_dtype_name(e->dtype),
                          cnn_shape_str(sb, sizeof sb, e->shape.ndim, e->shape.size), (unsigned long long)need);
    return 0;
}

int cnn_st_parse(cnn_ctx *c, const unsigned char *buf, size_t n, cnn_st_file *f) {
    memset(f, 0, sizeof *f);
    if (n < 8) return cnn_seterr(c, "not a safetensors file (%zu bytes, shorter than the 8-byte header length)", n);
    uint64_t hl = 0;
    for (int k = 7; k >= 0; k--) hl = hl << 8 | buf[k];
    if (n == 8 || buf[8] != '{')
        return cnn_seterr(c, "not a safetensors file (byte 9 is %s, not the '{' that opens the JSON header)",
                          n == 8 ? "missing" : buf[8] >= 32 && buf[8] < 127 ? (char[]){ '\'', (char)buf[8], '\'', 0 } : "not printable");
    if (hl == 0 || hl > n - 8)
        return cnn_seterr(c, "truncated or corrupt: the header length %llu exceeds the %zu bytes that follow",
                          (unsigned long long)hl, n - 8);
    f->header = parse_at(c, (const char *)buf + 8, (size_t)hl, 8, "the header");
    if (f->header == NULL) return -1;
    if (f->header->type != CNN_JOBJ) { cnn_st_free(f); return cnn_seterr(c, "the header is not a JSON object"); }
    f->data_start = 8 + (size_t)hl;
    f->data_len = n - f->data_start;
    const cnn_json *h = f->header;
    if ((f->e = calloc(h->n + 1, sizeof *f->e)) == NULL) { cnn_st_free(f); return cnn_seterr(c, "out of memory"); }
    char nm[80];
    for (size_t k = 0; k < h->n; k++) {
        const cnn_json *m = &h->kid[k];
        for (size_t q = 0; q < k; q++)
            if (h->kid[q].keylen == m->keylen && memcmp(h->kid[q].key, m->key, m->keylen) == 0) {
                cnn_seterr(c, "the header names '%s' twice (byte %zu)", shown(nm, sizeof nm, m->key, m->keylen), m->off);
                cnn_st_free(f);
                return -1;
            }
        if (m->keylen == 12 && memcmp(m->key, "__metadata__", 12) == 0) {
            const cnn_json *l = cnn_json_get(m, "cnn.lua");
            if (m->type != CNN_JOBJ) {          /* the message first: m lives in what cnn_st_free frees */
                cnn_seterr(c, "__metadata__ (byte %zu) is not a JSON object", m->off);
                cnn_st_free(f);
                return -1;
            }
            if (l != NULL) {
                if (l->type != CNN_JSTR) {
                    cnn_seterr(c, "__metadata__[\"cnn.lua\"] (byte %zu) is not a string", l->off);
                    cnn_st_free(f);
                    return -1;
                }
                f->layout = l->str;
                f->layout_len = l->len;
            }
            continue;
        }
        cnn_st_entry *e = &f->e[f->n];
        e->name = m->key;
        e->namelen = m->keylen;
        if (parse_entry(c, m, e, f->data_len) < 0) { cnn_st_free(f); return -1; }
        f->n++;
    }
    qsort(f->e, f->n, sizeof *f->e, cmp_begin);
    uint64_t pos = 0;
    for (size_t k = 0; k < f->n; k++) {
        if (f->e[k].begin != pos) {
            cnn_seterr(c, "tensor '%s' starts at byte %llu where %llu was expected (overlap or gap)",
                       shown(nm, sizeof nm, f->e[k].name, f->e[k].namelen), (unsigned long long)f->e[k].begin, (unsigned long long)pos);
            cnn_st_free(f);
            return -1;
        }
        pos = f->e[k].end;
    }
    if (pos != f->data_len) {
        cnn_seterr(c, "the tensors cover %llu of the %zu data bytes", (unsigned long long)pos, f->data_len);
        cnn_st_free(f);
        return -1;
    }
    return 0;
}

cnn_tensor *cnn_st_tensor(cnn_ctx *c, const cnn_st_file *f, const unsigned char *buf, size_t k) {
    const cnn_st_entry *e = &f->e[k];
    cnn_tensor *t = cnn_empty(c, &e->shape, e->dtype);
    if (t && e->end > e->begin) memcpy(cnn_data(t), buf + f->data_start + e->begin, (size_t)(e->end - e->begin));
    return t;
}

int64_t cnn_st_find(const cnn_st_file *f, const char *name, size_t len) {
    for (size_t k = 0; k < f->n; k++)
        if (f->e[k].namelen == len && memcmp(f->e[k].name, name, len) == 0) return (int64_t)k;
    return -1;
}

/* ---- the checkpoint layout ---- */

/* the path of a value in messages: "the top level" or 'a.b' */
static const char *where(char *buf, size_t n, const char *path) {
    if (path[0] == 0) snprintf(buf, n, "the top level");
    else snprintf(buf, n, "'%s'", path);
    return buf;
}

/* a string that is an integer / a number (Lua's own tonumber rules are wider; these are what cnn.save writes) */
static int int_text(const cnn_json *v) {
    if (v->type != CNN_JSTR || v->len == 0 || v->len > 20 || strlen(v->str) != v->len) return 0;
    char *end;
    errno = 0;
    (void)strtoll(v->str, &end, 10);
    return *end == 0 && errno == 0;
}
static int num_text(const cnn_json *v) {
    if (v->type != CNN_JSTR || v->len == 0 || v->len > 40 || strlen(v->str) != v->len) return 0;
    char *end;
    (void)strtod(v->str, &end);
    return *end == 0;
}

static int check_layout(cnn_ctx *c, const cnn_st_file *f, const cnn_json *v, char *path, size_t plen, size_t cap, int is_key) {
    char w[300], nm[80];
    const char *at = where(w, sizeof w, path);
    if (v->type == CNN_JSTR || v->type == CNN_JBOOL) return 0;
    if (v->type != CNN_JOBJ || v->n != 1)
        return cnn_seterr(c, "the layout in __metadata__ is malformed at %s (byte %zu of the layout)", at, v->off);
    const cnn_json *m = &v->kid[0];
    const char *k = m->key;
    if (m->keylen == 1 && k[0] == 't') {
        if (m->type != CNN_JSTR || cnn_st_find(f, m->str, m->len) < 0)
            return cnn_seterr(c, "the layout names tensor '%s' (at %s), which the file lacks",
                              m->type == CNN_JSTR ? shown(nm, sizeof nm, m->str, m->len) : "(not a string)", at);
        if (is_key) return cnn_seterr(c, "the layout in __metadata__ has a tensor as a key at %s", at);
        return 0;
    }
    if (m->keylen == 1 && k[0] == 'i') {
        if (!int_text(m)) return cnn_seterr(c, "the layout in __metadata__ has a bad integer at %s", at);
        return 0;
    }
    if (m->keylen == 1 && k[0] == 'f') {
        if (!num_text(m)) return cnn_seterr(c, "the layout in __metadata__ has a bad number at %s", at);
        if (is_key && isnan(strtod(m->str, NULL))) return cnn_seterr(c, "the layout in __metadata__ has a NaN key at %s", at);
        return 0;
    }
    if (m->keylen == 1 && k[0] == 'a' && (m->type == CNN_JARR || (m->type == CNN_JOBJ && m->n == 0))) {
        if (is_key) return cnn_seterr(c, "the layout in __metadata__ has a table as a key at %s", at);
        for (size_t q = 0; q < m->n; q++) {
            const cnn_json *kv = &m->kid[q];
            if (kv->type != CNN_JARR || kv->n != 2)
                return cnn_seterr(c, "the layout in __metadata__ is malformed at %s (entry %zu)", at, q + 1);
            if (check_layout(c, f, &kv->kid[0], path, plen, cap, 1) < 0) return -1;
            /* the child's path: path.key (keys shown as written: a string, or the number's text) */
            const cnn_json *key = &kv->kid[0];
            const char *ks = key->type == CNN_JSTR ? key->str : key->type == CNN_JBOOL ? (key->boolean ? "true" : "false") : key->kid[0].str;
            size_t kl = strlen(ks), nl = plen;
            if (plen && nl + 1 < cap) { path[nl++] = '.'; }
            for (size_t i = 0; i < kl && nl + 1 < cap; i++) path[nl++] = ks[i];
            path[nl] = 0;
            int rc = check_layout(c, f, &kv->kid[1], path, nl, cap, 0);
            path[plen] = 0;
            if (rc < 0) return -1;
        }
        return 0;
    }
    return cnn_seterr(c, "the layout in __metadata__ is malformed at %s (byte %zu of the layout)", at, v->off);
}

cnn_json *cnn_st_layout(cnn_ctx *c, const cnn_st_file *f) {
    if (f->layout == NULL) { cnn_seterr(c, "the file has no cnn layout"); return NULL; }
    cnn_json *j = parse_at(c, f->layout, f->layout_len, 0, "the layout in __metadata__");
    if (j == NULL) return NULL;
    char path[256];
    path[0] = 0;
    if (check_layout(c, f, j, path, 0, sizeof path, 0) < 0) { cnn_json_free(j); return NULL; }
    return j;
}
