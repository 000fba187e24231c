/* cmd_login.c — `allot login`: check a token against the server and keep it (and the server
 * URL) in the config directory, mode 0600, for the commands that follow. */
#include "cli/conn.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int mkdir_p(char *path)
{
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        int rc = mkdir(path, 0700);
        *p = '/';
        if (rc < 0 && errno != EEXIST)
            return -1;
    }
    return mkdir(path, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

/* Write `s` + newline to dir/name atomically (temp file + rename), mode 0600. */
static int write_secret(const char *dir, const char *name, const char *s)
{
    char path[1200], tmp[1210];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t n = strlen(s);
    int ok = fchmod(fd, 0600) == 0 && write(fd, s, n) == (ssize_t)n && write(fd, "\n", 1) == 1 &&
             fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

static int save(const struct al_conn *c, const char *token)
{
    char dir[1024];
    if (al_conn_config_dir(dir, sizeof dir) < 0 || mkdir_p(dir) < 0 ||
        write_secret(dir, "token", token) < 0 ||
        write_secret(dir, "server", al_client_server(c->client)) < 0) {
        fprintf(stderr, "allot login: cannot write the login files in %s: %s\n", dir,
                strerror(errno));
        return AL_EXIT_FAIL;
    }
    return AL_EXIT_OK;
}

int al_cmd_login(int argc, char **argv)
{
    static const struct al_cmd_spec spec = {
        "allot login --server URL --token TOKEN",
        "Check the token with the server and save both for later commands\n"
        "(in $ALLOT_CONFIG_DIR, else ~/.config/allot: files 'token' and 'server', mode 0600).",
        0, 0, NULL};
    struct al_args a;
    struct al_conn c = {0};
    json_t *me = NULL;
    const char *token;
    int rc = al_args_parse(&a, &spec, argc, argv);
    if (rc != 0)
        return rc > 0 ? AL_EXIT_OK : AL_EXIT_USAGE;
    token = a.token ? a.token : getenv("ALLOT_TOKEN");
    if (!token || !token[0])
        return al_args_usage_error(&a, "--token is required (or ALLOT_TOKEN)", NULL);
    a.token = token;
    if ((rc = al_conn_open(&c, &a)) != AL_EXIT_OK ||
        (rc = al_conn_call(&c, "GET", "/v1/me", NULL, NULL, &me)) != AL_EXIT_OK ||
        (rc = save(&c, token)) != AL_EXIT_OK)
        goto out;
    json_t *u = json_object_get(me, "user");
    if (c.fmt == AL_OUT_JSON) {
        al_out_json(json_incref(me));
    } else {
        const char *name = json_string_value(json_object_get(u, "name"));
        const char *role = json_string_value(json_object_get(u, "role"));
        printf("logged in to %s as %s (%s)\n", al_client_server(c.client), name ? name : "?",
               role ? role : "?");
    }
out:
    json_decref(me);
    al_conn_close(&c);
    return rc;
}
