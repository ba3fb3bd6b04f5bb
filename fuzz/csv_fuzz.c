/* csv_fuzz.c: libFuzzer harness for the CSV tokenizer (csrc/csv.c): every field must stay inside
 * the scratch buffer (2n + 16 bytes, as lua_data.c allocates) and be NUL-terminated. The first
 * byte picks the separator. Build and run: make fuzz (see docs/data.md). */
#include "../csrc/data.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const unsigned char *buf, size_t n) {
    if (n < 1) return 0;
    static const char seps[4] = { ',', '\t', ' ', ';' };
    char sep = seps[buf[0] & 3];
    const char *text = (const char *)buf + 1;
    size_t len = n - 1;
    char *scratch = malloc(2 * len + 16);
    cnn_csv r;
    cnn_csv_init(&r, text, len, sep, scratch);
    const char *f;
    size_t fl;
    int last, rc;
    while ((rc = cnn_csv_field(&r, &f, &fl, &last)) > 0) {
        if (f < scratch || f + fl >= scratch + 2 * len + 16 || f[fl] != 0) __builtin_trap();
        double v;
        cnn_csv_number(f, fl, &v);
        if (last) r.scratch = scratch;          /* the binding reuses the scratch for each row */
    }
    if (rc < 0 && r.err == NULL) __builtin_trap();
    free(scratch);
    return 0;
}
