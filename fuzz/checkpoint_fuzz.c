/* checkpoint_fuzz.c: libFuzzer harness for the checkpoint layout cnn.load rebuilds Lua values
 * from (csrc/safetensors.c, cnn_st_layout): the input is the __metadata__["cnn.lua"] text of a
 * file holding tensors "w", "b" and "tensor". It must be refused with a message or pass the
 * checks that lua_serialize.c's push_layout relies on (walked here the same way). Build and
 * run: make fuzz (docs/data.md). */
#include "../csrc/safetensors.h"

#include <stdlib.h>
#include <string.h>

/* what push_layout does, minus Lua: every node it reads must be as the checks promise */
static void walk(const cnn_json *v, const cnn_st_file *f) {
    if (v->type == CNN_JSTR || v->type == CNN_JBOOL) return;
    if (v->type != CNN_JOBJ || v->n != 1) __builtin_trap();
    const cnn_json *m = &v->kid[0];
    switch (m->key[0]) {
    case 't': if (cnn_st_find(f, m->str, m->len) < 0) __builtin_trap(); return;
    case 'i': (void)strtoll(m->str, NULL, 10); return;
    case 'f': (void)strtod(m->str, NULL); return;
    case 'a':
        for (size_t q = 0; q < m->n; q++) {
            if (m->kid[q].type != CNN_JARR || m->kid[q].n != 2) __builtin_trap();
            walk(&m->kid[q].kid[0], f);
            walk(&m->kid[q].kid[1], f);
        }
        return;
    default: __builtin_trap();
    }
}

int LLVMFuzzerTestOneInput(const unsigned char *buf, size_t n) {
    static cnn_ctx *c;
    if (c == NULL) c = cnn_ctx_new();
    cnn_st_entry e[3] = { { "w", 1, CNN_F32, { 1, { 2 } }, 0, 8 }, { "b", 1, CNN_F32, { 0, { 0 } }, 8, 12 },
                          { "tensor", 6, CNN_F64, { 1, { 1 } }, 12, 20 } };
    cnn_st_file f;
    memset(&f, 0, sizeof f);
    f.e = e;
    f.n = 3;
    f.layout = (const char *)buf;
    f.layout_len = n;
    cnn_json *j = cnn_st_layout(c, &f);
    if (j == NULL) {
        if (cnn_errmsg(c)[0] == 0) __builtin_trap();          /* a failure always says why */
        return 0;
    }
    walk(j, &f);
    cnn_json_free(j);
    return 0;
}
