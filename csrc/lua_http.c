/* lua_http.c: cnn.http, an HTTP server on libmicrohttpd whose request handler is a Lua function.
 *
 * libmicrohttpd parses HTTP and multipart bodies; this file only moves requests and responses
 * between it and Lua. The daemon has no thread of its own: server:run(ms) calls MHD_run_wait on the
 * Lua thread, and the handler runs inside that call through lua_pcall, so Lua is entered from one
 * thread only and an error in the handler becomes a 500 instead of a longjmp through libmicrohttpd.
 *
 * Limits a public server needs: a body limit answered with 413 from the headers (Content-Length)
 * before the body is read, or as soon as a chunked body passes it; a connection limit; an
 * inactivity timeout (libmicrohttpd's); and a limit on the time one request may take from its
 * connection or previous request, so a client sending a byte a second cannot hold a slot: run()
 * shuts such sockets down and libmicrohttpd then closes them.
 *
 * A module of its own (cnn._http, lua/cnn/_http.so), not part of the core: libmicrohttpd brings
 * GnuTLS and p11-kit, which need not be in every process that uses tensors. Its only caller is
 * lua/cnn/http.lua, which checks the options table (unknown keys, types) first; this file reads it
 * raw and checks every value's type and range again. */
#include <lauxlib.h>
#include <lua.h>
#include <stdio.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define HTTP_MT "cnn.http.Server"

typedef struct field {
    char *name, *filename, *content_type, *data;
    size_t len, cap;
    struct field *next;
} field;

/* one HTTP request (libmicrohttpd's con_cls) */
typedef struct request {
    struct MHD_PostProcessor *pp;
    field *fields, *last;
    char *body;
    size_t body_len, body_cap, received;
    int too_large, failed;
    /* the response, copied out of Lua */
    int status;
    char *resp_body;
    size_t resp_len;
    char **resp_headers; /* name, value, name, value, ..., NULL */
} request;

/* one TCP connection (libmicrohttpd's socket_context), in the server's list */
typedef struct conn {
    MHD_socket fd;
    double since; /* start of the connection or end of its last request */
    int shut;
    struct conn *prev, *next;
} conn;

typedef struct server {
    struct MHD_Daemon *daemon;
    lua_State *L;   /* the state running server:run, NULL outside it */
    int handler;    /* registry reference */
    size_t max_body;
    double request_timeout;
    conn *conns;
    int nconns;
    unsigned port;
} server;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void free_request(request *r) {
    if (!r) return;
    if (r->pp) MHD_destroy_post_processor(r->pp);
    for (field *f = r->fields, *n; f; f = n) {
        n = f->next;
        free(f->name); free(f->filename); free(f->content_type); free(f->data); free(f);
    }
    free(r->body);
    free(r->resp_body);
    if (r->resp_headers) {
        for (char **h = r->resp_headers; *h; h++) free(*h);
        free(r->resp_headers);
    }
    free(r);
}

/* appends n bytes to a growing buffer; 0 when out of memory */
static int append(char **buf, size_t *len, size_t *cap, const char *data, size_t n) {
    if (*len + n + 1 > *cap) {
        size_t c = *cap ? *cap : 256;
        while (c < *len + n + 1) c *= 2;
        char *p = realloc(*buf, c);
        if (!p) return 0;
        *buf = p;
        *cap = c;
    }
    memcpy(*buf + *len, data, n);
    *len += n;
    (*buf)[*len] = 0;
    return 1;
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* multipart / urlencoded fields: a field's data may come in several pieces (off > 0) */
static enum MHD_Result on_field(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                const char *content_type, const char *transfer_encoding,
                                const char *data, uint64_t off, size_t size) {
    request *r = cls;
    (void)kind; (void)transfer_encoding;
    field *f = r->last;
    if (off == 0 || !f || !key || !f->name || strcmp(f->name, key) != 0) {
        f = calloc(1, sizeof *f);
        if (!f) { r->failed = 503; return MHD_NO; }
        f->name = dup_or_null(key ? key : "");
        f->filename = dup_or_null(filename);
        f->content_type = dup_or_null(content_type);
        if (!f->name || (filename && !f->filename) || (content_type && !f->content_type)) {
            free(f->name); free(f->filename); free(f->content_type); free(f);
            r->failed = 503;
            return MHD_NO;
        }
        if (r->last) r->last->next = f; else r->fields = f;
        r->last = f;
        if (!append(&f->data, &f->len, &f->cap, "", 0)) { r->failed = 503; return MHD_NO; }
    }
    if (size && !append(&f->data, &f->len, &f->cap, data, size)) { r->failed = 503; return MHD_NO; }
    return MHD_YES;
}

static enum MHD_Result queue_text(struct MHD_Connection *c, unsigned status, const char *text) {
    struct MHD_Response *resp = MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(resp, "Connection", "close");
    enum MHD_Result ok = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result push_value(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
    lua_State *L = cls;
    (void)kind;
    if (!key) return MHD_YES;
    if (kind == MHD_HEADER_KIND) {              /* header names are case-insensitive: lower case */
        luaL_Buffer b;
        luaL_buffinit(L, &b);
        for (const char *p = key; *p; p++) luaL_addchar(&b, (*p >= 'A' && *p <= 'Z') ? *p + 32 : *p);
        luaL_pushresult(&b);
    } else {
        lua_pushstring(L, key);
    }
    lua_pushstring(L, value ? value : "");
    lua_rawset(L, -3);
    return MHD_YES;
}

/* runs under lua_pcall: builds the request table, calls the handler, copies its answer into r.
 * Stack: server's handler is passed as upvalue-free arguments: 1 = handler, lightuserdata args. */
static int dispatch(lua_State *L) {
    struct MHD_Connection *c = lua_touserdata(L, 2);
    request *r = lua_touserdata(L, 3);
    const char *method = lua_tostring(L, 4), *url = lua_tostring(L, 5);
    lua_settop(L, 1);
    lua_createtable(L, 0, 8);
    lua_pushstring(L, method);
    lua_setfield(L, -2, "method");
    lua_pushstring(L, url);
    lua_setfield(L, -2, "path");
    lua_newtable(L);
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, push_value, L);
    lua_setfield(L, -2, "query");
    lua_newtable(L);
    MHD_get_connection_values(c, MHD_HEADER_KIND, push_value, L);
    lua_setfield(L, -2, "headers");
    lua_newtable(L);
    int i = 1;
    for (field *f = r->fields; f; f = f->next, i++) {
        lua_createtable(L, 0, 4);
        lua_pushstring(L, f->name);
        lua_setfield(L, -2, "name");
        lua_pushlstring(L, f->data ? f->data : "", f->len);
        lua_setfield(L, -2, "value");
        if (f->filename) { lua_pushstring(L, f->filename); lua_setfield(L, -2, "filename"); }
        if (f->content_type) { lua_pushstring(L, f->content_type); lua_setfield(L, -2, "content_type"); }
        lua_rawseti(L, -2, i);
    }
    lua_setfield(L, -2, "fields");
    lua_pushlstring(L, r->body ? r->body : "", r->body_len);
    lua_setfield(L, -2, "body");
    lua_call(L, 1, 3);                           /* status, headers, body */
    int isnum;
    lua_Integer status = lua_tointegerx(L, 1, &isnum);
    if (!isnum || status < 100 || status > 599)
        return luaL_error(L, "cnn.http: the handler returned status %s, expected an integer in 100..599",
                          luaL_typename(L, 1));
    if (!lua_isnil(L, 2) && !lua_istable(L, 2))
        return luaL_error(L, "cnn.http: the handler returned headers of type %s, expected a table", luaL_typename(L, 2));
    size_t blen = 0;
    const char *body = lua_isnil(L, 3) ? "" : lua_tolstring(L, 3, &blen);
    if (!body || lua_type(L, 3) == LUA_TNUMBER)
        return luaL_error(L, "cnn.http: the handler returned a body of type %s, expected a string", luaL_typename(L, 3));
    /* copy out: names and values must be strings; everything allocated is reachable from r */
    size_t n = 0;
    if (lua_istable(L, 2)) {
        lua_pushnil(L);
        while (lua_next(L, 2)) { n++; lua_pop(L, 1); }
    }
    r->resp_headers = calloc(2 * n + 1, sizeof(char *));
    if (!r->resp_headers) return luaL_error(L, "cnn.http: out of memory");
    if (n) {
        size_t k = 0;
        lua_pushnil(L);
        while (lua_next(L, 2)) {
            if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
                return luaL_error(L, "cnn.http: the handler's headers must map strings to strings");
            const char *name = lua_tostring(L, -2), *value = lua_tostring(L, -1);
            if (strpbrk(name, "\r\n:") || strpbrk(value, "\r\n"))
                return luaL_error(L, "cnn.http: header '%s' holds a line break or colon", name);
            if (!(r->resp_headers[k++] = strdup(name)) || !(r->resp_headers[k++] = strdup(value)))
                return luaL_error(L, "cnn.http: out of memory");
            lua_pop(L, 1);
        }
    }
    r->resp_body = malloc(blen ? blen : 1);
    if (!r->resp_body) return luaL_error(L, "cnn.http: out of memory");
    memcpy(r->resp_body, body, blen);
    r->resp_len = blen;
    r->status = (int)status;
    return 0;
}

static enum MHD_Result respond(server *s, struct MHD_Connection *c, request *r, const char *method, const char *url) {
    lua_State *L = s->L;
    if (!L) return queue_text(c, 503, "server not running\n");
    int top = lua_gettop(L);
    lua_pushcfunction(L, dispatch);
    lua_rawgeti(L, LUA_REGISTRYINDEX, s->handler);
    lua_pushlightuserdata(L, c);
    lua_pushlightuserdata(L, r);
    lua_pushstring(L, method);
    lua_pushstring(L, url);
    if (lua_pcall(L, 5, 0, 0) != LUA_OK) {
        const char *msg = lua_tostring(L, -1);
        fprintf(stderr, "cnn.http: %s %s: the handler failed: %s\n", method, url, msg ? msg : "(error object)");
        lua_settop(L, top);
        return queue_text(c, 500, "internal server error\n");
    }
    lua_settop(L, top);
    struct MHD_Response *resp = MHD_create_response_from_buffer(r->resp_len, r->resp_body, MHD_RESPMEM_MUST_COPY);
    if (!resp) return MHD_NO;
    for (char **h = r->resp_headers; h && h[0]; h += 2) MHD_add_response_header(resp, h[0], h[1]);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *data, size_t *size, void **con_cls) {
    server *s = cls;
    (void)version;
    request *r = *con_cls;
    if (!r) {                                    /* headers complete, no body byte read yet */
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        *con_cls = r;
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            unsigned long long v = strtoull(cl, &end, 10);
            if (end == cl || v > s->max_body) { r->too_large = 1; r->status = 413; return queue_text(c, 413, "request body too large\n"); }
        }
        r->pp = MHD_create_post_processor(c, 65536, on_field, r);  /* NULL unless a form body */
        return MHD_YES;
    }
    if (*size) {
        size_t n = *size;
        *size = 0;
        /* libmicrohttpd 0.9.75 cannot answer before the body ends (the client gets an empty
         * reply): past the limit, the rest is read and dropped, held by request_timeout */
        if (r->too_large || r->failed) return MHD_YES;
        r->received += n;
        if (r->received > s->max_body) { r->too_large = 1; return MHD_YES; }
        if (r->pp) {
            if (MHD_post_process(r->pp, data, n) != MHD_YES) r->failed = 400;
        } else if (!append(&r->body, &r->body_len, &r->body_cap, data, n)) {
            r->failed = 503;
        }
        return MHD_YES;
    }
    if (r->too_large) return r->status ? MHD_YES : (r->status = 413, queue_text(c, 413, "request body too large\n"));
    if (r->failed) return queue_text(c, (unsigned)r->failed, r->failed == 400 ? "malformed form body\n" : "out of memory\n");
    return respond(s, c, r, method, url);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode toe) {
    (void)cls; (void)toe;
    free_request(*con_cls);
    *con_cls = NULL;
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci && ci->socket_context) ((conn *)ci->socket_context)->since = now();
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode toe) {
    server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        conn *k = calloc(1, sizeof *k);
        if (!k) return;                          /* then it only has the inactivity timeout */
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        k->fd = ci ? ci->connect_fd : MHD_INVALID_SOCKET;
        k->since = now();
        k->next = s->conns;
        if (s->conns) s->conns->prev = k;
        s->conns = k;
        s->nconns++;
        *socket_context = k;
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED && *socket_context) {
        conn *k = *socket_context;
        if (k->prev) k->prev->next = k->next; else s->conns = k->next;
        if (k->next) k->next->prev = k->prev;
        s->nconns--;
        free(k);
        *socket_context = NULL;
    }
}

static server *check_server(lua_State *L, int i, const char *fn) {
    server *s = luaL_testudata(L, i, HTTP_MT);
    if (!s) luaL_error(L, "cnn.http.%s: argument self: expected a cnn.http server, got %s", fn, luaL_typename(L, i));
    if (!s->daemon) luaL_error(L, "cnn.http.%s: the server is closed", fn);
    return s;
}

static void stop(lua_State *L, server *s) {
    if (s->daemon) { MHD_stop_daemon(s->daemon); s->daemon = NULL; }
    if (s->handler != LUA_NOREF) { luaL_unref(L, LUA_REGISTRYINDEX, s->handler); s->handler = LUA_NOREF; }
}

/* pushes opts[key] read raw (no metamethod runs) and returns its type */
static int opt_rawget(lua_State *L, int t, const char *key) {
    lua_pushstring(L, key);
    return lua_rawget(L, t);
}

static lua_Number opt_num(lua_State *L, int t, const char *key, lua_Number def, lua_Number lo, lua_Number hi) {
    int ty = opt_rawget(L, t, key);
    lua_Number v = def;
    if (ty != LUA_TNIL) {
        if (ty != LUA_TNUMBER || !(lua_tonumber(L, -1) >= lo && lua_tonumber(L, -1) <= hi)) {
            char range[64];
            snprintf(range, sizeof range, "%.17g..%.17g", (double)lo, (double)hi);
            luaL_error(L, "cnn.http.server: option %s: expected a number in %s, got %s",
                       key, range, ty == LUA_TNUMBER ? lua_tostring(L, -1) : luaL_typename(L, -1));
        }
        v = lua_tonumber(L, -1);
    }
    lua_pop(L, 1);
    return v;
}

/* cnn.http.server{handler=fn, host="127.0.0.1", port=8080, max_body=20 MB, max_connections=64,
 *                 timeout=15, request_timeout=60} */
static int l_server(lua_State *L) {
    luaL_checktype(L, 1, LUA_TTABLE);
    if (opt_rawget(L, 1, "handler") != LUA_TFUNCTION)
        return luaL_error(L, "cnn.http.server: option handler: expected a function, got %s", luaL_typename(L, -1));
    int ht = lua_gettop(L);
    const char *host = "127.0.0.1";
    int ty = opt_rawget(L, 1, "host");
    if (ty == LUA_TSTRING) host = lua_tostring(L, -1);
    else if (ty != LUA_TNIL) return luaL_error(L, "cnn.http.server: option host: expected a string, got %s", luaL_typename(L, -1));
    if (strcmp(host, "localhost") == 0) host = "127.0.0.1";
    unsigned port = (unsigned)opt_num(L, 1, "port", 8080, 0, 65535);
    size_t max_body = (size_t)opt_num(L, 1, "max_body", 20.0 * 1024 * 1024, 0, 1e12);
    unsigned max_conn = (unsigned)opt_num(L, 1, "max_connections", 64, 1, 65536);
    unsigned timeout = (unsigned)opt_num(L, 1, "timeout", 15, 1, 86400);
    double req_timeout = opt_num(L, 1, "request_timeout", 60, 0.01, 86400);

    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    struct sockaddr *addr;
    unsigned flags = 0;
    memset(&a4, 0, sizeof a4);
    memset(&a6, 0, sizeof a6);
    if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)port);
        addr = (struct sockaddr *)&a4;
    } else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)port);
        addr = (struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
    } else {
        return luaL_error(L, "cnn.http.server: option host: expected an IPv4 or IPv6 address or 'localhost', got '%s'", host);
    }
    server *s = lua_newuserdatauv(L, sizeof *s, 0);
    memset(s, 0, sizeof *s);
    s->handler = LUA_NOREF;
    luaL_setmetatable(L, HTTP_MT);
    s->max_body = max_body;
    s->request_timeout = req_timeout;
    s->daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, on_request, s,
                                 MHD_OPTION_SOCK_ADDR, addr,
                                 MHD_OPTION_CONNECTION_LIMIT, max_conn,
                                 MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                                 MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                                 MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                                 MHD_OPTION_END);
    if (!s->daemon)
        return luaL_error(L, "cnn.http.server: cannot listen on %s port %d (in use, or not an address of this machine)", host, (int)port);
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : port;
    lua_pushvalue(L, ht);
    s->handler = luaL_ref(L, LUA_REGISTRYINDEX);
    return 1;
}

/* server:run([ms = 1000]): waits up to ms for network events and serves them; returns the number of
 * open connections */
static int l_run(lua_State *L) {
    server *s = check_server(L, 1, "run");
    lua_Integer ms = luaL_optinteger(L, 2, 1000);
    if (ms < 0 || ms > 86400000) return luaL_error(L, "cnn.http.run: argument 1 (ms): expected 0..86400000, got %d", (int)ms);
    if (s->L) return luaL_error(L, "cnn.http.run: called from inside the server's own handler");
    double t = now();
    for (conn *k = s->conns; k; k = k->next)
        if (!k->shut && k->fd != MHD_INVALID_SOCKET && t - k->since > s->request_timeout) {
            shutdown(k->fd, SHUT_RDWR);          /* libmicrohttpd sees the socket end and closes it */
            k->shut = 1;
        }
    s->L = L;
    MHD_run_wait(s->daemon, (int32_t)ms);
    s->L = NULL;
    lua_pushinteger(L, s->nconns);
    return 1;
}

static int l_port(lua_State *L) {
    server *s = check_server(L, 1, "port");
    lua_pushinteger(L, s->port);
    return 1;
}

static int l_close(lua_State *L) {
    server *s = luaL_checkudata(L, 1, HTTP_MT);
    if (s->L) return luaL_error(L, "cnn.http.close: called from inside the server's own handler");
    stop(L, s);
    return 0;
}

static const luaL_Reg methods[] = { { "run", l_run }, { "port", l_port }, { "close", l_close }, { NULL, NULL } };

int luaopen_cnn__http(lua_State *L) {
    if (luaL_newmetatable(L, HTTP_MT)) {
        luaL_newlib(L, methods);
        lua_setfield(L, -2, "__index");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__gc");
        lua_pushcfunction(L, l_close);
        lua_setfield(L, -2, "__close");
        lua_pushstring(L, "cnn.http.Server");
        lua_setfield(L, -2, "__name");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    lua_pushcfunction(L, l_server);
    lua_setfield(L, -2, "server");
    return 1;
}
