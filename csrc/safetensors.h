/* safetensors.h: reading cnn.save's files without Lua (model files come from strangers, so all
 * of this is fuzzed: fuzz/safetensors_fuzz.c, fuzz/checkpoint_fuzz.c). A small JSON parser, the
 * safetensors header (8-byte little-endian length, JSON {name: {dtype, shape, data_offsets}},
 * raw little-endian data) checked entry by entry, and the checkpoint layout that cnn.save keeps in
 * __metadata__["cnn.lua"] checked against the tensors. Binding: lua_serialize.c (cnn.load).
 * Failures leave a message with the place (byte offset, tensor name, layout path) in the context. */
#ifndef CNN_SAFETENSORS_H
#define CNN_SAFETENSORS_H

#include "cnn.h"

#include <stddef.h>

/* ---- JSON (RFC 8259; nesting limited to CNN_JSON_DEPTH) ---- */
#define CNN_JSON_DEPTH 200
typedef enum { CNN_JNULL, CNN_JBOOL, CNN_JNUM, CNN_JSTR, CNN_JARR, CNN_JOBJ } cnn_jtype;
typedef struct cnn_json {
    cnn_jtype type;
    int boolean;
    double num;
    int is_int;                 /* the number was written as an integer that fits int64 */
    int64_t ival;
    char *str;                  /* string value, unescaped, NUL-terminated (may hold NULs: len) */
    size_t len;
    char *key;                  /* the member's name inside an object */
    size_t keylen;
    struct cnn_json *kid;       /* array elements / object members */
    size_t n;
    size_t off;                 /* byte offset of the value in the parsed text */
} cnn_json;
/* parses text[0..n) (one value, whitespace around it); NULL and a message on failure */
cnn_json *cnn_json_parse(cnn_ctx *c, const char *text, size_t n);
void cnn_json_free(cnn_json *j);
/* the member of object o named key (NUL-free), or NULL */
const cnn_json *cnn_json_get(const cnn_json *o, const char *key);

/* ---- the safetensors container ---- */
typedef struct cnn_st_entry {
    const char *name;           /* points into the header's JSON */
    size_t namelen;
    cnn_dtype dtype;
    cnn_shape shape;
    uint64_t begin, end;        /* byte range in the data section */
} cnn_st_entry;
typedef struct cnn_st_file {
    cnn_json *header;
    cnn_st_entry *e;            /* in data order */
    size_t n;
    size_t data_start, data_len;   /* data section: buf[data_start .. data_start + data_len) */
    const char *layout;         /* __metadata__["cnn.lua"] (NULL: a file written elsewhere) */
    size_t layout_len;
} cnn_st_file;
/* checks the whole container (header length, JSON, every entry, offsets covering the data with no
 * gap or overlap); 0, or -1 with a message */
int cnn_st_parse(cnn_ctx *c, const unsigned char *buf, size_t n, cnn_st_file *f);
void cnn_st_free(cnn_st_file *f);
/* the tensor of entry k, copied out of buf */
cnn_tensor *cnn_st_tensor(cnn_ctx *c, const cnn_st_file *f, const unsigned char *buf, size_t k);

/* ---- the checkpoint layout: strings and booleans as they are, {"t": tensor name},
 * {"i": "17"}, {"f": "%.17g"}, {"a": [[key, value], ...]} (a table) ---- */
/* parses and checks f->layout: every form well made, every tensor named present in f, every
 * key usable in a Lua table; NULL and a message naming the place ("at 'opt.lr'") on failure */
cnn_json *cnn_st_layout(cnn_ctx *c, const cnn_st_file *f);
/* the entry index named by a {"t": name} value, -1 if none */
int64_t cnn_st_find(const cnn_st_file *f, const char *name, size_t len);

#endif
