/* lua_data.c: bindings of the data side (cnn._data, wrapped by lua/cnn/image.lua,
 * lua/cnn/data/ and lua/cnn/progress.lua) plus cnn.randperm. Files are read whole into
 * Lua userdata, so an error raised anywhere leaks nothing. Messages name the public function,
 * then the file and the place: "cnn.image.load: a.png: truncated at byte 1234".
 * Core: image.c, image_jpeg.c, idx.c, plink.c, csv.c, batch.c.
 * Specs: image_, idx_, csv_, genotype_, sequence_, data_spec.lua. */
#include "lua_util.h"
#include "data.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* "cnn.<fn>: <path>: <core message>" */
static int file_fail(lua_State *L, const char *fn, const char *path) {
    return luaL_error(L, "cnn.%s: %s: %s", fn, path, cnn_errmsg(ctx_of(L)));
}

/* the whole file as a userdata pushed on the stack (collected with it) */
static unsigned char *slurp(lua_State *L, const char *fn, const char *path, size_t *n) {
    struct stat st;
    if (stat(path, &st) != 0) fn_error(L, fn, "%s: cannot open: %s", path, strerror(errno));
    if (S_ISDIR(st.st_mode)) fn_error(L, fn, "%s: is a directory, expected a file", path);
    unsigned char *buf = lua_newuserdatauv(L, (size_t)st.st_size + 1, 0);
    FILE *f = fopen(path, "rb");
    if (f == NULL) fn_error(L, fn, "%s: cannot open: %s", path, strerror(errno));
    size_t got = fread(buf, 1, (size_t)st.st_size, f);
    int bad = ferror(f);
    fclose(f);
    if (bad) fn_error(L, fn, "%s: read error: %s", path, strerror(errno));
    buf[got] = 0;
    *n = got;
    return buf;
}

static const char *check_str(lua_State *L, int idx, const char *fn, const char *name) {
    if (lua_type(L, idx) != LUA_TSTRING) arg_error(L, fn, idx, name, "expected a string, got %s", luaL_typename(L, idx));
    return lua_tostring(L, idx);
}

/* fn names arrive from the Lua wrappers as upvalue-free strings at a known position */
static const char *fn_arg(lua_State *L, int idx, const char *dflt) {
    return lua_type(L, idx) == LUA_TSTRING ? lua_tostring(L, idx) : dflt;
}

/* ---- images ---- */

/* image_load(path, channels 0|1|3, max_side|nil, fn|nil): PNG or JPEG by the first bytes,
 * whatever the file's name; max_side applies to JPEG only (libjpeg's scaled IDCT) */
static int l_image_load(lua_State *L) {
    const char *fn = fn_arg(L, 4, "image.load");
    const char *path = check_str(L, 1, fn, "path");
    int64_t ch = lua_isnoneornil(L, 2) ? 0 : check_int(L, 2, fn, "channels");
    if (ch != 0 && ch != 1 && ch != 3) arg_error(L, fn, 2, "channels", "expected 1 or 3, got %lld", (long long)ch);
    int64_t max_side = lua_isnoneornil(L, 3) ? 0 : check_int(L, 3, fn, "max_side");
    if (max_side < 0) arg_error(L, fn, 2, "max_side", "expected a positive integer, got %lld", (long long)max_side);
    size_t n;
    unsigned char *buf = slurp(L, fn, path, &n);
    cnn_tensor **box = push_box(L);
    static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    if (n >= 2 && buf[0] == 0xFF && buf[1] == 0xD8)
        *box = cnn_jpeg_decode(ctx_of(L), buf, n, (int)ch, max_side, 0);
    else if (memcmp(buf, png_sig, n < 8 ? n : 8) == 0)    /* a PNG, or a truncated one */
        *box = cnn_png_decode(ctx_of(L), buf, n, (int)ch);
    else {
        char hex[16] = "";
        for (size_t k = 0; k < 4 && k < n; k++) snprintf(hex + strlen(hex), 4, k ? " %02X" : "%02X", buf[k]);
        fn_error(L, fn, "%s: not a PNG or JPEG file (it starts with bytes %s)", path, hex);
    }
    if (*box == NULL) return file_fail(L, fn, path);
    return 1;
}

/* image_save(t, path, quality|nil): JPEG when quality is given (the Lua side decides by the
 * file's extension), PNG otherwise */
static int l_image_save(lua_State *L) {
    const char *fn = "image.save";
    cnn_tensor *t = check_tensor(L, 1, fn, "image");
    const char *path = check_str(L, 2, fn, "path");
    int rc = lua_isnoneornil(L, 3) ? cnn_png_write(ctx_of(L), t, path, NULL, NULL)
                                   : cnn_jpeg_write(ctx_of(L), t, path, (int)check_int(L, 3, fn, "quality"), NULL, NULL);
    if (rc < 0) return file_fail(L, fn, path);
    return 0;
}

/* image_decode(bytes, channels 0|1|3, max_side|nil): image_load on bytes in memory (an upload) */
static int l_image_decode(lua_State *L) {
    const char *fn = "image.decode";
    if (lua_type(L, 1) != LUA_TSTRING) arg_error(L, fn, 1, "bytes", "expected a string, got %s", luaL_typename(L, 1));
    int64_t ch = lua_isnoneornil(L, 2) ? 0 : check_int(L, 2, fn, "channels");
    if (ch != 0 && ch != 1 && ch != 3) arg_error(L, fn, 2, "channels", "expected 1 or 3, got %lld", (long long)ch);
    int64_t max_side = lua_isnoneornil(L, 3) ? 0 : check_int(L, 3, fn, "max_side");
    if (max_side < 0) arg_error(L, fn, 2, "max_side", "expected a positive integer, got %lld", (long long)max_side);
    cnn_tensor **box = push_box(L);
    size_t n;
    const unsigned char *buf = (const unsigned char *)lua_tolstring(L, 1, &n);   /* a string: stays put */
    static const unsigned char png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
    if (n == 0) fn_error(L, fn, "the bytes are empty, expected a PNG or JPEG image");
    if (n >= 2 && buf[0] == 0xFF && buf[1] == 0xD8)
        *box = cnn_jpeg_decode(ctx_of(L), buf, n, (int)ch, max_side, 0);
    else if (memcmp(buf, png_sig, n < 8 ? n : 8) == 0)
        *box = cnn_png_decode(ctx_of(L), buf, n, (int)ch);
    else {
        char hex[16] = "";
        for (size_t k = 0; k < 4 && k < n; k++) snprintf(hex + strlen(hex), 4, k ? " %02X" : "%02X", buf[k]);
        fn_error(L, fn, "not a PNG or JPEG image (it starts with bytes %s)", hex);
    }
    if (*box == NULL) fn_error(L, fn, "%s", cnn_errmsg(ctx_of(L)));
    return 1;
}

static int push_bytes(lua_State *L) {
    lua_pushlstring(L, lua_touserdata(L, 1), (size_t)lua_tointeger(L, 2));
    return 1;
}

/* image_encode(t, quality|nil) -> the bytes of a PNG file, or of a JPEG file when quality is given */
static int l_image_encode(lua_State *L) {
    const char *fn = "image.encode";
    cnn_tensor *t = check_tensor(L, 1, fn, "image");
    int q = lua_isnoneornil(L, 2) ? 0 : (int)check_int(L, 2, fn, "quality");
    t = check_tensor(L, 1, fn, "image");
    unsigned char *mem = NULL;
    size_t n = 0;
    int rc = q ? cnn_jpeg_write(ctx_of(L), t, NULL, q, &mem, &n) : cnn_png_write(ctx_of(L), t, NULL, &mem, &n);
    if (rc < 0) fn_error(L, fn, "%s", cnn_errmsg(ctx_of(L)));
    /* making the string may raise (out of memory): under pcall, so mem is freed either way */
    lua_pushcfunction(L, push_bytes);
    lua_pushlightuserdata(L, mem);
    lua_pushinteger(L, (lua_Integer)n);
    rc = lua_pcall(L, 2, 1, 0);
    free(mem);
    if (rc != LUA_OK) return lua_error(L);
    return 1;
}

/* resize(t, h, w, antialias) */
static int l_resize(lua_State *L) {
    cnn_tensor *t = check_tensor(L, 1, "image.resize", "image");
    int64_t oh = check_int(L, 2, "image.resize", "height"), ow = check_int(L, 3, "image.resize", "width");
    int aa = lua_toboolean(L, 4);
    cnn_tensor **box = push_box(L);
    t = check_tensor(L, 1, "image.resize", "image");
    *box = cnn_image_resize(ctx_of(L), t, oh, ow, aa);
    return push_result(L, box, "image.resize");
}

static int l_flip(lua_State *L) {
    const char *fn = fn_arg(L, 3, "image.hflip");
    cnn_tensor *t = check_tensor(L, 1, fn, "image");
    cnn_tensor **box = push_box(L);
    t = check_tensor(L, 1, fn, "image");
    *box = cnn_image_flip(ctx_of(L), t, lua_toboolean(L, 2));
    return push_result(L, box, fn);
}

/* a number that must be finite (an angle, a factor, a fill value) */
static double check_finite(lua_State *L, int idx, const char *fn, const char *name) {
    double v = check_num(L, idx, fn, name);
    if (!isfinite(v)) arg_error(L, fn, idx, name, "expected a finite number, got %g", v);
    return v;
}

/* rotate(t, degrees, fill, fn): fn names the public function (image.random_rotation draws the
 * angle in Lua) */
static int l_rotate(lua_State *L) {
    const char *fn = fn_arg(L, 4, "image.rotate");
    cnn_tensor *t = check_tensor(L, 1, fn, "image");
    double deg = check_finite(L, 2, fn, "degrees");
    double fill = lua_isnoneornil(L, 3) ? 0.0 : check_finite(L, 3, fn, "fill");
    cnn_tensor **box = push_box(L);
    t = check_tensor(L, 1, fn, "image");
    *box = cnn_image_rotate(ctx_of(L), t, deg, fill);
    return push_result(L, box, fn);
}

/* adjust(t, factor, kind "brightness"|"contrast"|"saturation" [, fn]): fn names the public
 * function when it is not image.adjust_<kind> (image.color_jitter draws the factors) */
static int l_adjust(lua_State *L) {
    static const char *const kinds[] = { "brightness", "contrast", "saturation", NULL };
    int kind = luaL_checkoption(L, 3, NULL, kinds);
    char name[64];
    snprintf(name, sizeof name, "image.adjust_%s", kinds[kind]);
    const char *fn = fn_arg(L, 4, name);
    cnn_tensor *t = check_tensor(L, 1, fn, "image");
    double f = check_finite(L, 2, fn, "factor");
    cnn_tensor **box = push_box(L);
    t = check_tensor(L, 1, fn, "image");
    *box = cnn_image_adjust(ctx_of(L), t, (cnn_adjust)kind, f);
    return push_result(L, box, fn);
}

/* a number or a table of numbers -> up to 8 values */
static int check_vals(lua_State *L, int idx, const char *fn, const char *name, double *v) {
    if (lua_type(L, idx) == LUA_TNUMBER) {
        v[0] = lua_tonumber(L, idx);
        if (!isfinite(v[0])) arg_error(L, fn, idx, name, "expected a finite number, got %g", v[0]);
        return 1;
    }
    if (!lua_istable(L, idx)) arg_error(L, fn, idx, name, "expected a number or a table of numbers, got %s", type_desc(L, idx));
    lua_Integer n = (lua_Integer)lua_rawlen(L, idx);     /* raw: no metamethod runs */
    if (n < 1 || n > 8) arg_error(L, fn, idx, name, "expected 1 to 8 values (one per channel), got %lld", (long long)n);
    for (int k = 1; k <= n; k++) {
        if (lua_rawgeti(L, idx, k) != LUA_TNUMBER) arg_error(L, fn, idx, name, "value %d is %s, expected a number", k, type_desc(L, -1));
        v[k - 1] = lua_tonumber(L, -1);
        if (!isfinite(v[k - 1])) arg_error(L, fn, idx, name, "value %d is %g, expected a finite number", k, v[k - 1]);
        lua_pop(L, 1);
    }
    return (int)n;
}

static int l_normalize(lua_State *L) {
    const char *fn = "image.normalize";
    cnn_tensor *t = check_tensor(L, 1, fn, "image");
    double mean[8], std[8];
    int nm = check_vals(L, 2, fn, "mean", mean), ns = check_vals(L, 3, fn, "std", std);
    if (nm != ns) arg_error(L, fn, 3, "std", "expected as many values as mean (%d), got %d", nm, ns);
    cnn_tensor **box = push_box(L);
    t = check_tensor(L, 1, fn, "image");
    *box = cnn_image_normalize(ctx_of(L), t, mean, std, nm);
    return push_result(L, box, fn);
}

static int l_to_gray(lua_State *L) { return push_map(L, "image.to_gray", "image", cnn_image_to_gray); }

static int l_overlay(lua_State *L) {
    const char *fn = "image.overlay";
    cnn_tensor *img = check_tensor(L, 1, fn, "image"), *heat = check_tensor(L, 2, fn, "heat");
    double alpha = lua_isnoneornil(L, 3) ? 0.5 : check_num(L, 3, fn, "alpha");
    cnn_tensor **box = push_box(L);
    img = check_tensor(L, 1, fn, "image"); heat = check_tensor(L, 2, fn, "heat");
    *box = cnn_image_overlay(ctx_of(L), img, heat, alpha);
    return push_result(L, box, fn);
}

/* ---- IDX and PLINK ---- */

/* idx_load(path, dtype, scale) */
static int l_idx_load(lua_State *L) {
    const char *fn = "data.idx.load";
    const char *path = check_str(L, 1, fn, "path");
    cnn_dtype dt = lua_isnoneornil(L, 2) ? CNN_F32 : check_dtype(L, 2, fn, "dtype");
    double scale = lua_isnoneornil(L, 3) ? 1.0 : check_num(L, 3, fn, "scale");
    size_t n;
    unsigned char *buf = slurp(L, fn, path, &n);
    cnn_tensor **box = push_box(L);
    if ((*box = cnn_idx_decode(ctx_of(L), buf, n, dt, scale)) == NULL) return file_fail(L, fn, path);
    return 1;
}

/* bed_read(path, N, P, dtype) */
static int l_bed_read(lua_State *L) {
    const char *fn = "data.genotype.read_bed";
    const char *path = check_str(L, 1, fn, "path");
    int64_t N = check_int(L, 2, fn, "samples"), P = check_int(L, 3, fn, "variants");
    cnn_dtype dt = lua_isnoneornil(L, 4) ? CNN_F32 : check_dtype(L, 4, fn, "dtype");
    if (!cnn_dtype_is_float(dt)) arg_error(L, fn, 4, "dtype", "expected \"float32\" or \"float64\", got \"int64\"");
    size_t n;
    unsigned char *buf = slurp(L, fn, path, &n);
    cnn_tensor **box = push_box(L);
    if ((*box = cnn_bed_decode(ctx_of(L), buf, n, N, P, dt)) == NULL) return file_fail(L, fn, path);
    return 1;
}

/* bed_encode(dosage, fn) -> the .bed body (no magic) as a string */
static int l_bed_encode(lua_State *L) {
    const char *fn = luaL_optstring(L, 2, "data.genotype.write_bed");
    cnn_tensor *x = check_tensor(L, 1, fn, "g");
    int64_t N = x->ndim == 2 ? x->size[0] : 0, P = x->ndim == 2 ? x->size[1] : 0;
    size_t n = (size_t)((N + 3) / 4) * (size_t)P;
    luaL_Buffer b;
    unsigned char *out = (unsigned char *)luaL_buffinitsize(L, &b, n ? n : 1);
    x = check_tensor(L, 1, fn, "g");
    if (cnn_bed_encode(ctx_of(L), x, out) != 0) return fail(L, fn);
    luaL_pushresultsize(&b, n);
    return 1;
}

/* an optional contiguous tensor of one dtype at idx (nil -> NULL, *m = 0) */
static const void *opt_vec(lua_State *L, int idx, const char *fn, const char *name, cnn_dtype dt, int64_t *m) {
    *m = 0;
    if (lua_isnoneornil(L, idx)) return NULL;
    cnn_tensor *t = check_tensor_any(L, idx, fn, name);
    if (t->dtype != dt || t->ndim != 1 || !cnn_is_contiguous(t))
        arg_error(L, fn, idx, name, "expected a contiguous 1-D %s tensor, got %s", dt == CNN_I64 ? "int64" : "float64", type_desc(L, idx));
    *m = t->size[0];
    return cnn_data(t);
}

/* bed_batch(bytes, N, P, rows|nil, cols|nil, center|nil, scale|nil, dtype, fn) */
static int l_bed_batch(lua_State *L) {
    const char *fn = luaL_optstring(L, 9, "genomics.batch");
    size_t n;
    const unsigned char *bed = (const unsigned char *)luaL_checklstring(L, 1, &n);
    int64_t N = check_int(L, 2, fn, "samples"), P = check_int(L, 3, fn, "variants");
    cnn_dtype dt = lua_isnoneornil(L, 8) ? CNN_F32 : check_dtype(L, 8, fn, "dtype");
    if (!cnn_dtype_is_float(dt)) arg_error(L, fn, 8, "dtype", "expected \"float32\" or \"float64\", got \"int64\"");
    cnn_tensor **box = push_box(L);
    int64_t nr, nc, ncen, nsc;
    const int64_t *rows = opt_vec(L, 4, fn, "rows", CNN_I64, &nr), *cols = opt_vec(L, 5, fn, "cols", CNN_I64, &nc);
    const double *center = opt_vec(L, 6, fn, "center", CNN_F64, &ncen), *scale = opt_vec(L, 7, fn, "scale", CNN_F64, &nsc);
    int64_t want = cols ? nc : P;
    if ((center && ncen != want) || (scale && nsc != want)) fn_error(L, fn, "center/scale: expected %lld values", (long long)want);
    *box = cnn_bed_batch(ctx_of(L), bed, n, N, P, rows, nr, cols, nc, center, scale, dt);
    return push_result(L, box, fn);
}

/* bed_scan(bytes, N, P, rows|nil, y|nil, fn) -> (P,3) float64 */
static int l_bed_scan(lua_State *L) {
    const char *fn = luaL_optstring(L, 6, "genomics.preselect");
    size_t n;
    const unsigned char *bed = (const unsigned char *)luaL_checklstring(L, 1, &n);
    int64_t N = check_int(L, 2, fn, "samples"), P = check_int(L, 3, fn, "variants");
    cnn_tensor **box = push_box(L);
    int64_t nr, ny;
    const int64_t *rows = opt_vec(L, 4, fn, "rows", CNN_I64, &nr);
    const double *y = opt_vec(L, 5, fn, "y", CNN_F64, &ny);
    if (y && ny != (rows ? nr : N)) fn_error(L, fn, "y: expected %lld values, got %lld", (long long)(rows ? nr : N), (long long)ny);
    *box = cnn_bed_scan(ctx_of(L), bed, n, N, P, rows, nr, y);
    return push_result(L, box, fn);
}

static int l_impute_mean(lua_State *L) { return push_map(L, "data.genotype.impute_mean", "dosage", cnn_impute_mean); }

static int l_standardize(lua_State *L) { return push_map(L, "data.genotype.standardize", "dosage", cnn_standardize); }

/* gather(t, indices) -> rows of t at the 1-based indices (a tensor) */
static int l_gather(lua_State *L) {
    const char *fn = "data.TensorDataset:get_batch";
    /* rows of any dtype (a memcpy each), indices int64 or floats holding integers */
    cnn_tensor *t = check_tensor_any(L, 1, fn, "tensor"), *ix = check_tensor_any(L, 2, fn, "indices");
    cnn_tensor **box = push_box(L);
    t = check_tensor_any(L, 1, fn, "tensor"); ix = check_tensor_any(L, 2, fn, "indices");
    *box = cnn_gather_rows(ctx_of(L), t, ix);
    return push_result(L, box, fn);
}

/* ---- CSV ---- */

typedef struct csv_opts {
    const char *fn, *path;
    char sep;
    int header, numeric, dosage;
    int64_t matrix_from;       /* 0-based first column of the numeric matrix, -1: none */
    cnn_dtype dt;
} csv_opts;

static int opt_bool(lua_State *L, int t, const char *k, int dflt) {
    int v = lua_getfield(L, t, k) == LUA_TNIL ? dflt : lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* one row into fields[] (pointers into scratch); returns the count, 0 at the end; a blank line
 * is skipped. Raises on a tokenizer error. */
static int64_t csv_row(lua_State *L, cnn_csv *r, const csv_opts *o, const char **f, size_t *len, int64_t cap, char *base) {
    for (;;) {
        int64_t k = 0;
        int last = 0;
        r->scratch = base;
        r->row_line = r->line;
        while (!last) {
            const char *s;
            size_t n;
            int rc = cnn_csv_field(r, &s, &n, &last);
            if (rc < 0) fn_error(L, o->fn, "%s: line %lld: %s", o->path, (long long)r->line, r->err);
            if (rc == 0) break;
            if (k < cap) { f[k] = s; len[k] = n; }
            k++;
        }
        if (k == 1 && len[0] == 0 && cap > 0) continue;      /* blank line */
        return k;
    }
}

static void check_width(lua_State *L, const csv_opts *o, const cnn_csv *r, int64_t k, int64_t ncol) {
    if (k != ncol)
        fn_error(L, o->fn, "%s: line %lld has %lld fields, expected %lld (as in the first line)", o->path,
                 (long long)r->row_line, (long long)k, (long long)ncol);
}

static const char *col_name(lua_State *L, int names, int64_t j, char *buf, size_t n) {
    if (names) {
        lua_geti(L, names, j + 1);
        snprintf(buf, n, "'%s'", lua_tostring(L, -1));
        lua_pop(L, 1);
    } else {
        snprintf(buf, n, "%lld", (long long)j + 1);
    }
    return buf;
}

/* csv_read(path, {sep=, header=, numeric=, matrix_from=, dosage=, dtype=, fn=}) ->
 * names|nil, columns (list: float64 tensor or table of strings; nil inside the matrix), nrows,
 * matrix|nil ((nrows, ncol - matrix_from + 1) tensor of the trailing columns) */
static int l_csv_read(lua_State *L) {
    csv_opts o = { "data.csv.read", NULL, ',', 1, 1, 0, -1, CNN_F32 };
    if (lua_istable(L, 2)) {
        if (lua_getfield(L, 2, "fn") == LUA_TSTRING) o.fn = lua_tostring(L, -1);   /* kept alive by the table */
        lua_pop(L, 1);
    }
    o.path = check_str(L, 1, o.fn, "path");
    if (!lua_isnoneornil(L, 2)) {
        luaL_checktype(L, 2, LUA_TTABLE);
        if (lua_getfield(L, 2, "sep") != LUA_TNIL) {
            size_t sl;
            const char *s = lua_tolstring(L, -1, &sl);
            if (s == NULL || sl != 1 || s[0] == '"' || s[0] == '\n' || s[0] == '\r')
                arg_error(L, o.fn, 2, "options", "sep must be one character other than a quote or a newline");
            o.sep = s[0] == '\t' ? '\t' : s[0];
        }
        lua_pop(L, 1);
        o.header = opt_bool(L, 2, "header", 1);
        o.numeric = opt_bool(L, 2, "numeric", 1);
        o.dosage = opt_bool(L, 2, "dosage", 0);
        if (lua_getfield(L, 2, "matrix_from") != LUA_TNIL) o.matrix_from = check_int(L, -1, o.fn, "matrix_from") - 1;
        lua_pop(L, 1);
        if (lua_getfield(L, 2, "dtype") != LUA_TNIL) o.dt = check_dtype(L, lua_gettop(L), o.fn, "dtype");
        if (!cnn_dtype_is_float(o.dt)) arg_error(L, o.fn, 2, "options", "dtype: expected \"float32\" or \"float64\", got \"int64\"");
        lua_pop(L, 1);
    }
    size_t n;
    char *text = (char *)slurp(L, o.fn, o.path, &n);
    char *scratch = lua_newuserdatauv(L, 2 * n + 16, 0);   /* a row's fields, unquoted, NUL-ended */
    cnn_csv r;
    cnn_csv_init(&r, text, n, o.sep, scratch);

    /* pass 1: width, header, which columns are numbers, the rows' checks */
    int64_t cap = 16;
    const char **f = lua_newuserdatauv(L, (size_t)cap * sizeof *f, 0);
    size_t *len = lua_newuserdatauv(L, (size_t)cap * sizeof *len, 0);
    int64_t ncol = csv_row(L, &r, &o, f, len, cap, scratch);
    if (ncol == 0) fn_error(L, o.fn, "%s: the file is empty", o.path);
    if (ncol > cap) {        /* now that the width is known, read the first row again */
        cap = ncol;
        f = lua_newuserdatauv(L, (size_t)cap * sizeof *f, 0);
        len = lua_newuserdatauv(L, (size_t)cap * sizeof *len, 0);
        cnn_csv_init(&r, text, n, o.sep, scratch);
        csv_row(L, &r, &o, f, len, cap, scratch);
    }
    int names = 0;
    if (o.header) {
        lua_createtable(L, (int)ncol, 0);
        names = lua_gettop(L);
        for (int64_t j = 0; j < ncol; j++) { lua_pushlstring(L, f[j], len[j]); lua_rawseti(L, names, j + 1); }
    }
    if (o.matrix_from > ncol) fn_error(L, o.fn, "%s: expected at least %lld columns, got %lld", o.path, (long long)o.matrix_from + 1, (long long)ncol);
    unsigned char *isnum = lua_newuserdatauv(L, (size_t)ncol + 1, 0);
    for (int64_t j = 0; j < ncol; j++) isnum[j] = (unsigned char)o.numeric;
    cnn_csv r0 = r;                         /* the position after the header */
    int64_t nrows = 0, k;
    char cb[300];
    if (!o.header) { cnn_csv_init(&r, text, n, o.sep, scratch); r0 = r; }   /* the first line is data */
    while ((k = csv_row(L, &r, &o, f, len, cap, scratch)) > 0) {
        check_width(L, &o, &r, k, ncol);
        for (int64_t j = 0; j < ncol; j++) {
            double v;
            int isn = cnn_csv_number(f[j], len[j], &v);
            if (o.matrix_from >= 0 && j >= o.matrix_from) {
                if (!isn)
                    fn_error(L, o.fn, "%s: line %lld, column %s: '%s' is not a number (or NA)", o.path,
                             (long long)r.row_line, col_name(L, names, j, cb, sizeof cb), f[j]);
                if (o.dosage && !(v != v || v == 0 || v == 1 || v == 2))
                    fn_error(L, o.fn, "%s: line %lld, column %s: genotype value %s is outside {0,1,2,NA}", o.path,
                             (long long)r.row_line, col_name(L, names, j, cb, sizeof cb), f[j]);
            } else if (!isn) {
                isnum[j] = 0;
            }
        }
        nrows++;
    }

    /* pass 2: fill */
    lua_createtable(L, (int)ncol, 0);
    int cols = lua_gettop(L);
    int64_t m0 = o.matrix_from >= 0 ? o.matrix_from : ncol;
    cnn_ctx *c = ctx_of(L);
    double **num = lua_newuserdatauv(L, (size_t)(ncol + 1) * sizeof *num, 0);
    for (int64_t j = 0; j < m0; j++) {
        num[j] = NULL;
        if (isnum[j]) {
            cnn_shape s = { 1, { nrows } };
            cnn_tensor **box = push_box(L);
            if ((*box = cnn_empty(c, &s, CNN_F64)) == NULL) return fail(L, o.fn);
            num[j] = cnn_data(*box);
        } else {
            lua_createtable(L, (int)nrows, 0);
        }
        lua_rawseti(L, cols, j + 1);
    }
    cnn_tensor *mat = NULL;
    if (o.matrix_from >= 0) {
        cnn_shape s = { 2, { nrows, ncol - m0 } };
        cnn_tensor **box = push_box(L);
        if ((*box = cnn_empty(c, &s, o.dt)) == NULL) return fail(L, o.fn);
        mat = *box;
    }
    int matidx = lua_gettop(L);
    r = r0;
    for (int64_t i = 0; i < nrows; i++) {
        csv_row(L, &r, &o, f, len, cap, scratch);
        for (int64_t j = 0; j < m0; j++) {
            if (num[j]) {
                cnn_csv_number(f[j], len[j], &num[j][i]);
            } else {
                lua_rawgeti(L, cols, j + 1);
                lua_pushlstring(L, f[j], len[j]);
                lua_rawseti(L, -2, i + 1);
                lua_pop(L, 1);
            }
        }
        if (mat) {
            int64_t w = ncol - m0;
            for (int64_t j = 0; j < w; j++) {
                double v;
                cnn_csv_number(f[m0 + j], len[m0 + j], &v);
                if (mat->dtype == CNN_F32) ((float *)cnn_data(mat))[i * w + j] = (float)v;
                else ((double *)cnn_data(mat))[i * w + j] = v;
            }
        }
    }
    if (names) lua_pushvalue(L, names); else lua_pushnil(L);
    lua_pushvalue(L, cols);
    lua_pushinteger(L, nrows);
    if (mat) lua_pushvalue(L, matidx); else lua_pushnil(L);
    return 4;
}

/* ---- sequences ---- */

/* one_hot(seqs, alphabet) -> (N, K, L) float32; N (when not in the alphabet) is 1/K everywhere */
static int l_one_hot(lua_State *L) {
    const char *fn = "data.sequence.one_hot";
    if (!lua_istable(L, 1)) arg_error(L, fn, 1, "seqs", "expected a table of strings, got %s", type_desc(L, 1));
    size_t K;
    if (!lua_isnoneornil(L, 2) && lua_type(L, 2) != LUA_TSTRING)      /* a number would convert: refuse it too */
        arg_error(L, fn, 2, "alphabet", "expected a string of letters such as \"ACGT\", got %s", type_desc(L, 2));
    const char *alpha = lua_isnoneornil(L, 2) ? (K = 4, "ACGT") : lua_tolstring(L, 2, &K);
    signed char code[256];
    memset(code, -1, sizeof code);
    if (K == 0 || K > 64) arg_error(L, fn, 2, "alphabet", "expected 1 to 64 letters, got %d", (int)K);
    for (size_t k = 0; k < K; k++) {
        unsigned char a = (unsigned char)alpha[k], lo = (unsigned char)(a | 0x20), up = (unsigned char)(a & ~0x20);
        if (code[a] >= 0) arg_error(L, fn, 2, "alphabet", "letter '%c' appears twice", a);
        code[a] = (signed char)k;
        if ((lo >= 'a' && lo <= 'z')) { code[lo] = (signed char)k; code[up] = (signed char)k; }
    }
    int unknown_n = code['N'] < 0;
    lua_Integer N = (lua_Integer)lua_rawlen(L, 1);        /* raw: no metamethod runs */
    size_t Lseq = 0;
    for (lua_Integer i = 1; i <= N; i++) {
        size_t l;
        if (lua_rawgeti(L, 1, i) != LUA_TSTRING) arg_error(L, fn, 1, "seqs", "element %lld is %s, expected a string", (long long)i, type_desc(L, -1));
        lua_tolstring(L, -1, &l);
        if (i == 1) Lseq = l;
        else if (l != Lseq) arg_error(L, fn, 1, "seqs", "sequence %lld has length %zu, expected %zu (as sequence 1)", (long long)i, l, Lseq);
        lua_pop(L, 1);
    }
    cnn_shape s = { 3, { N, (int64_t)K, (int64_t)Lseq } };
    cnn_tensor **box = push_box(L);
    if ((*box = cnn_full(ctx_of(L), &s, CNN_F32, 0.0)) == NULL) return fail(L, fn);
    float *y = cnn_data(*box);
    for (lua_Integer i = 1; i <= N; i++) {
        /* checked again: the box's allocation may have run a finalizer that changed the table */
        size_t l = 0;
        if (lua_rawgeti(L, 1, i) != LUA_TSTRING || (lua_tolstring(L, -1, &l), l != Lseq))
            arg_error(L, fn, 1, "seqs", "sequence %lld changed while it was read", (long long)i);
        const unsigned char *q = (const unsigned char *)lua_tostring(L, -1);
        float *yi = y + (i - 1) * (int64_t)K * (int64_t)Lseq;
        for (size_t p = 0; p < Lseq; p++) {
            int k = code[q[p]];
            if (k >= 0) yi[(size_t)k * Lseq + p] = 1.0f;
            else if (unknown_n && (q[p] == 'N' || q[p] == 'n'))
                for (size_t a = 0; a < K; a++) yi[a * Lseq + p] = 1.0f / (float)K;
            else
                arg_error(L, fn, 1, "seqs", "sequence %lld, position %zu: unknown letter '%c' (expected one of %s or N)",
                          (long long)i, p + 1, q[p] >= 32 && q[p] < 127 ? q[p] : '?', alpha);
        }
        lua_pop(L, 1);
    }
    return 1;
}

/* ---- random, files, terminal ---- */

/* a uniform integer in [0, n) without modulo bias (Lemire's multiply-shift, fixed up) */
static uint64_t below(cnn_rng *r, uint64_t n) {
    unsigned __int128 m = (unsigned __int128)cnn_rng_next(r) * n;
    uint64_t lo = (uint64_t)m;
    if (lo < n) {
        uint64_t t = -n % n;
        while (lo < t) { m = (unsigned __int128)cnn_rng_next(r) * n; lo = (uint64_t)m; }
    }
    return (uint64_t)(m >> 64);
}

/* randperm(n [, seed]): 1-based int64 permutation (as PyTorch's, but 1-based), Fisher-Yates on the context generator,
 * or on a fresh one seeded with `seed` (a loader's own, reproducible stream) */
static int l_randperm(lua_State *L) {
    int64_t n = check_int(L, 1, "randperm", "n");
    if (n < 0) arg_error(L, "randperm", 1, "n", "expected >= 0, got %lld", (long long)n);
    cnn_rng own, *r = cnn_ctx_rng(ctx_of(L));
    if (!lua_isnoneornil(L, 2)) { cnn_rng_seed(&own, (uint64_t)check_int(L, 2, "randperm", "seed")); r = &own; }
    cnn_shape s = { 1, { n } };
    cnn_tensor **box = push_box(L);
    if ((*box = cnn_empty(ctx_of(L), &s, CNN_I64)) == NULL) return fail(L, "randperm");
    int64_t *p = cnn_data(*box);
    for (int64_t i = 0; i < n; i++) p[i] = i + 1;
    for (int64_t i = n - 1; i > 0; i--) {
        int64_t j = (int64_t)below(r, (uint64_t)i + 1);
        int64_t t = p[i]; p[i] = p[j]; p[j] = t;
    }
    return 1;
}

/* uniform([seed-free]) -> a number in [0,1) from the context generator, for the random transforms */
static int l_uniform(lua_State *L) {
    lua_pushnumber(L, cnn_rng_uniform(cnn_ctx_rng(ctx_of(L))));
    return 1;
}

/* listdir(path, fn) -> names (unsorted), kinds (name -> "dir"|"file"|"other") */
static int l_listdir(lua_State *L) {
    const char *fn = fn_arg(L, 2, "data.ImageFolder");
    const char *path = check_str(L, 1, fn, "root");
    lua_newtable(L);
    lua_newtable(L);
    DIR *d = opendir(path);
    if (d == NULL) fn_error(L, fn, "%s: cannot open directory: %s", path, strerror(errno));
    /* a Lua memory error between here and closedir would leak d: an accepted limit, the
     * state is unusable at that point anyway */
    struct dirent *e;
    int k = 0;
    char full[4096];
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        struct stat st;
        snprintf(full, sizeof full, "%s/%s", path, e->d_name);
        const char *kind = stat(full, &st) != 0 ? "other" : S_ISDIR(st.st_mode) ? "dir" : S_ISREG(st.st_mode) ? "file" : "other";
        lua_pushstring(L, e->d_name);
        lua_rawseti(L, -3, ++k);
        lua_pushstring(L, kind);
        lua_setfield(L, -2, e->d_name);
    }
    closedir(d);
    return 2;
}

static int l_isatty(lua_State *L) {
    lua_pushboolean(L, isatty((int)luaL_optinteger(L, 1, 1)));
    return 1;
}

static const luaL_Reg data_fns[] = {
    { "image_load", l_image_load }, { "image_save", l_image_save },
    { "image_decode", l_image_decode }, { "image_encode", l_image_encode }, { "resize", l_resize }, { "flip", l_flip },
    { "rotate", l_rotate }, { "adjust", l_adjust }, { "normalize", l_normalize }, { "to_gray", l_to_gray },
    { "overlay", l_overlay }, { "idx_load", l_idx_load }, { "bed_read", l_bed_read }, { "bed_encode", l_bed_encode },
    { "bed_batch", l_bed_batch }, { "bed_scan", l_bed_scan },
    { "impute_mean", l_impute_mean }, { "standardize", l_standardize }, { "csv_read", l_csv_read }, { "gather", l_gather },
    { "one_hot", l_one_hot }, { "randperm", l_randperm }, { "uniform", l_uniform }, { "listdir", l_listdir },
    { "isatty", l_isatty }, { NULL, NULL }
};

static const luaL_Reg module_fns[] = { { "randperm", l_randperm }, { NULL, NULL } };

void cnn_open_data(lua_State *L, int ctx, int module, int methods) {
    (void)methods;
    lua_newtable(L);
    register_fns(L, data_fns, ctx, lua_gettop(L), 0);
    lua_setfield(L, module, "_data");
    register_fns(L, module_fns, ctx, module, 0);
}
