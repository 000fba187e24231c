/* config.c — the configuration file of `allot server` and `allot agent` (config.h): read it,
 * check every line, and run the command with the settings of its section as flags placed
 * before the command line's. The flags a section may set are the command's own, read from its
 * usage text, so that a new flag is settable the day it is added to a command's usage. */
#include "cli/config.h"

#include "core/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define AL_CONFIG_MAX_NAME  63 /* a key or a section name */
#define AL_CONFIG_MAX_FLAGS 64 /* flags a command's usage may list */

/* A flag the command takes: "db" for "--db PATH"; a switch takes no value. */
struct conf_flag {
    char name[AL_CONFIG_MAX_NAME + 1];
    bool takes_value;
};

/* One `key = value` line of the wanted section; both point into the file's buffer. */
struct conf_setting {
    int line;
    const char *key, *value;
    const struct conf_flag *flag;
};

struct conf_parse {
    const char *path, *section;
    struct conf_flag flags[AL_CONFIG_MAX_FLAGS];
    size_t nflags;
    bool in_section, in_ours; /* under a [section] header; is it `section`? */
    struct conf_setting set[AL_CONFIG_MAX_KEYS];
    size_t nset;
};

static int conf_fail(const struct conf_parse *p, int line, const char *fmt, ...) AL_PRINTF(3, 4);

/* Print "PATH:LINE: what" (no LINE when 0) and return -1. Callers never pass a value. */
static int conf_fail(const struct conf_parse *p, int line, const char *fmt, ...)
{
    va_list ap;
    if (line > 0)
        fprintf(stderr, "%s:%d: ", p->path, line);
    else
        fprintf(stderr, "%s: ", p->path);
    va_start(ap, fmt);
    (void)vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return -1;
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Length of the name at s (a flag, key or section: [a-z0-9-], starting with a letter); 0 when
 * there is none or it is longer than AL_CONFIG_MAX_NAME. */
static size_t name_len(const char *s)
{
    size_t n = 0;
    if (!(s[0] >= 'a' && s[0] <= 'z'))
        return 0;
    while (is_name_char(s[n]))
        n++;
    return n <= AL_CONFIG_MAX_NAME ? n : 0;
}

/* The flags of a usage text: every line "  --name …" (two spaces, then the flag), a flag
 * taking a value when one space and an upper-case METAVAR follow its name. Other lines (the
 * synopsis, a subcommand's flags such as "  init --name NAME", continuations) are prose. */
static void scan_usage(struct conf_parse *p, const char *text)
{
    for (const char *l = text; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL) {
        if (strncmp(l, "  --", 4) != 0)
            continue;
        size_t n = name_len(l + 4);
        if (n == 0 || p->nflags >= AL_CONFIG_MAX_FLAGS)
            continue;
        const char *after = l + 4 + n;
        struct conf_flag *f = &p->flags[p->nflags++];
        memcpy(f->name, l + 4, n);
        f->name[n] = '\0';
        f->takes_value = after[0] == ' ' && after[1] >= 'A' && after[1] <= 'Z';
    }
}

/* Fill p->flags from what `usage` prints. Returns 0, or -1 when memory ran out. */
static int read_usage(struct conf_parse *p, al_config_usage_fn usage)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    if (!f)
        return -1;
    usage(f);
    if (fclose(f) != 0 || !text) {
        free(text);
        return -1;
    }
    scan_usage(p, text);
    free(text);
    return 0;
}

static char *trim(char *s)
{
    size_t n = strlen(s);
    while (*s == ' ' || *s == '\t')
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* "[name]": known sections are server and agent, whichever command reads the file. */
static int parse_section(struct conf_parse *p, int line, char *s)
{
    size_t len = strlen(s);
    if (s[len - 1] != ']')
        return conf_fail(p, line, "a section header is [server] or [agent], alone on its line");
    s[len - 1] = '\0';
    char *name = trim(s + 1);
    if (strcmp(name, "server") != 0 && strcmp(name, "agent") != 0) {
        if (name_len(name) == strlen(name) && name[0])
            return conf_fail(p, line, "unknown section [%s] (server, agent)", name);
        return conf_fail(p, line, "unknown section (server, agent)");
    }
    p->in_section = true;
    p->in_ours = strcmp(name, p->section) == 0;
    return 0;
}

static const struct conf_flag *find_flag(const struct conf_parse *p, const char *name)
{
    for (size_t i = 0; i < p->nflags; i++)
        if (strcmp(p->flags[i].name, name) == 0)
            return &p->flags[i];
    return NULL;
}

/* A `key = value` line of our section: a flag of the command, once, a switch true or false. */
static int add_setting(struct conf_parse *p, int line, const char *key, const char *value)
{
    const struct conf_flag *f = find_flag(p, key);
    if (!f)
        return conf_fail(p, line,
                         "unknown key '%s' in [%s] (a key is a flag of `allot %s --help`, "
                         "without its --)",
                         key, p->section, p->section);
    for (size_t i = 0; i < p->nset; i++)
        if (strcmp(p->set[i].key, key) == 0)
            return conf_fail(p, line, "'%s' is set twice in [%s] (first at line %d)", key,
                             p->section, p->set[i].line);
    if (!f->takes_value && strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
        return conf_fail(p, line, "'%s' is a switch: its value is true or false", key);
    if (p->nset >= AL_CONFIG_MAX_KEYS)
        return conf_fail(p, line, "more than %d settings in [%s]", AL_CONFIG_MAX_KEYS, p->section);
    p->set[p->nset++] = (struct conf_setting){line, key, value, f};
    return 0;
}

static int parse_setting(struct conf_parse *p, int line, char *s)
{
    char *eq = strchr(s, '=');
    if (!eq)
        return conf_fail(p, line, "expected 'key = value', a [section] or a # comment");
    *eq = '\0';
    char *key = trim(s), *value = trim(eq + 1);
    if (strncmp(key, "--", 2) == 0)
        return conf_fail(p, line, "a key is a flag's name without its -- (db, not --db)");
    if (!key[0] || name_len(key) != strlen(key))
        return conf_fail(p, line, "a key is a flag's name: a-z, 0-9 and -, at most %d",
                         AL_CONFIG_MAX_NAME);
    if (!p->in_section)
        return conf_fail(p, line, "'%s' is outside a section: put it under [server] or [agent]",
                         key);
    if (!value[0])
        return conf_fail(p, line, "'%s' has no value", key);
    return p->in_ours ? add_setting(p, line, key, value) : 0;
}

/* One line (its newline removed): a comment, a blank, a section header or a setting. */
static int parse_line(struct conf_parse *p, int line, char *s, size_t len)
{
    if (len > 0 && s[len - 1] == '\r') /* a file written on Windows */
        s[--len] = '\0';
    if (len > AL_CONFIG_MAX_LINE)
        return conf_fail(p, line, "longer than %d bytes", AL_CONFIG_MAX_LINE);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0')
            return conf_fail(p, line, "a NUL byte (not a text file?)");
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return conf_fail(p, line, "a control character (byte 0x%02x) at column %zu", c, i + 1);
    }
    s = trim(s);
    if (s[0] == '\0' || s[0] == '#' || s[0] == ';')
        return 0;
    if (s[0] == '[')
        return parse_section(p, line, s);
    return parse_setting(p, line, s);
}

/* Every line of `buf` (`len` bytes, NUL-terminated past them; modified in place). */
static int parse_text(struct conf_parse *p, char *buf, size_t len)
{
    int line = 0;
    for (char *s = buf, *end = buf + len; s < end;) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        char *stop = nl ? nl : end;
        *stop = '\0';
        if (parse_line(p, ++line, s, (size_t)(stop - s)) < 0)
            return -1;
        s = stop + 1;
    }
    return 0;
}

/* Read the file into *ret (NUL-terminated, caller frees). *ret stays NULL when the file does
 * not exist and `must` is false. Returns 0, or -1 after printing why. */
static int read_conf(const struct conf_parse *p, bool must, char **ret, size_t *ret_len)
{
    struct stat st;
    char why[128], *buf = NULL;
    size_t n = 0;
    FILE *f = fopen(p->path, "r");
    int rc = -1;
    *ret = NULL;
    if (!f) {
        int e = errno;
        if (e == ENOENT && !must)
            return 0;
        (void)strerror_r(e, why, sizeof why);
        return conf_fail(p, 0, "cannot read it: %s (--config none reads no file)", why);
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        conf_fail(p, 0, "not a regular file");
        goto out;
    }
    buf = malloc(AL_CONFIG_MAX_BYTES + 2);
    n = buf ? fread(buf, 1, AL_CONFIG_MAX_BYTES + 1, f) : 0;
    if (!buf || ferror(f) || n > AL_CONFIG_MAX_BYTES) {
        conf_fail(p, 0, "%s", !buf ? "out of memory" : n ? "larger than 64 KiB" : "read error");
        free(buf);
        goto out;
    }
    buf[n] = '\0';
    *ret = buf;
    *ret_len = n;
    rc = 0;
out:
    (void)fclose(f); /* read-only: nothing to lose */
    return rc;
}

/* argv with --config PATH / --config=PATH taken out into *path. Returns 0, or -1 after
 * printing why (no value, given twice). `out` has room for argc + 1 pointers. */
static int take_config(const char *section, int argc, char **argv, char **out, int *outc,
                       const char **path)
{
    *outc = 0;
    for (int i = 0; i < argc; i++) {
        const char *v = NULL;
        if (i > 0 && strcmp(argv[i], "--config") == 0) {
            if (i + 1 >= argc || !argv[i + 1][0])
                goto novalue;
            v = argv[++i];
        } else if (i > 0 && strncmp(argv[i], "--config=", 9) == 0) {
            v = argv[i] + 9;
            if (!v[0])
                goto novalue;
        } else {
            out[(*outc)++] = argv[i];
            continue;
        }
        if (*path) {
            fprintf(stderr, "allot %s: --config is given twice\n", section);
            return -1;
        }
        *path = v;
    }
    out[*outc] = NULL;
    return 0;
novalue:
    fprintf(stderr, "allot %s: --config needs a value: a file, or none\n", section);
    return -1;
}

/* The command's argv: argv[0], the settings as flags, then the command line's argv[1..]. One
 * allocation (the pointers, then the "--key" strings); the values point into the file's
 * buffer. Returns it (caller frees), or NULL when memory ran out. */
static char **build_argv(const struct conf_parse *p, int argc, char **argv, int *ret_argc)
{
    size_t nptr = (size_t)argc + 2 * p->nset + 1, namecap = AL_CONFIG_MAX_NAME + 3;
    char **out = malloc(nptr * sizeof *out + p->nset * namecap), *names;
    int n = 0;
    if (!out)
        return NULL;
    names = (char *)(out + nptr); /* NOLINT(*-casting-*): the strings follow the array */
    out[n++] = argv[0];
    for (size_t i = 0; i < p->nset; i++) {
        const struct conf_setting *s = &p->set[i];
        if (!s->flag->takes_value && strcmp(s->value, "false") == 0)
            continue;
        snprintf(names + i * namecap, namecap, "--%s", s->key);
        out[n++] = names + i * namecap;
        if (s->flag->takes_value)
            out[n++] = (char *)s->value; /* NOLINT(*-cast-*): argv is char **, never written */
    }
    for (int i = 1; i < argc; i++)
        out[n++] = argv[i];
    out[n] = NULL;
    *ret_argc = n;
    return out;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
            return true;
    return false;
}

/* With the file read into p (buf NULL: there is none): check it, then run fn with its flags
 * first. */
static int run_with(struct conf_parse *p, char *buf, size_t len, al_cmd_fn fn, int argc,
                    char **argv)
{
    int nargc = 0;
    if (buf && parse_text(p, buf, len) < 0)
        return AL_EXIT_USAGE;
    char **nargv = build_argv(p, argc, argv, &nargc);
    if (!nargv) {
        fprintf(stderr, "allot %s: out of memory\n", p->section);
        return AL_EXIT_FAIL;
    }
    int rc = fn(nargc, nargv);
    free(nargv);
    return rc;
}

int al_config_run(const char *section, al_config_usage_fn usage, al_cmd_fn fn, int argc,
                  char **argv)
{
    struct conf_parse *p = calloc(1, sizeof *p);
    char **args = calloc((size_t)argc + 1, sizeof *args);
    char *buf = NULL;
    size_t len = 0;
    int nargs = 0, rc = AL_EXIT_USAGE;
    const char *path = NULL;
    if (!p || !args) {
        fprintf(stderr, "allot %s: out of memory\n", section);
        rc = AL_EXIT_FAIL;
        goto out;
    }
    if (argc >= 2 && argv[1][0] != '-') { /* a subcommand (server init): no file */
        rc = fn(argc, argv);
        goto out;
    }
    if (take_config(section, argc, argv, args, &nargs, &path) < 0)
        goto out;
    if (wants_help(nargs, args)) {
        if ((rc = fn(nargs, args)) == AL_EXIT_OK)
            printf("\nconfiguration file:\n"
                   "  --config PATH|none  read flags from the [%s] section of PATH (default\n"
                   "                      $%s, else %s when it\n"
                   "                      exists; none: no file), one `key = value` line\n"
                   "                      each; the command line wins\n",
                   section, AL_CONFIG_ENV, AL_CONFIG_DEFAULT);
        goto out;
    }
    const char *env = getenv(AL_CONFIG_ENV);
    if (!path && env && env[0])
        path = env;
    *p = (struct conf_parse){.path = path ? path : AL_CONFIG_DEFAULT, .section = section};
    if (path && strcmp(path, "none") == 0) {
        rc = fn(nargs, args);
    } else if (read_usage(p, usage) < 0) {
        fprintf(stderr, "allot %s: out of memory\n", section);
        rc = AL_EXIT_FAIL;
    } else if (read_conf(p, path != NULL, &buf, &len) == 0) {
        rc = run_with(p, buf, len, fn, nargs, args);
    }
out:
    free(buf);
    free(args);
    free(p);
    return rc;
}
