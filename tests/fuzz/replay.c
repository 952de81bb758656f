/* Replays a corpus through a harness without libFuzzer: linked with each
 * tests/fuzz/fuzz_NAME.c into fuzz_replay_NAME, a unit test of every build
 * (ctest unit.fuzz_corpus.NAME; gcc is enough). Every file of the seed
 * corpus, crash inputs found earlier included, must pass the harness's
 * checks: a broken promise aborts, a sanitizer build reports memory
 * errors. Usage: fuzz_replay_NAME DIR|FILE... */
#include "fuzz.h"

#include <dirent.h>
#include <string.h>
#include <sys/stat.h>

static int replayed;

static void replay_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "cannot read %s\n", path);
        exit(1);
    }
    size_t cap = 1 << 16, n = 0;
    uint8_t *buf = malloc(cap);
    for (size_t got; (got = fread(buf + n, 1, cap - n, f)) > 0;)
        if ((n += got) == cap) buf = realloc(buf, cap *= 2);
    fclose(f);
    /* exactly n bytes, as libFuzzer hands them over */
    uint8_t *data = malloc(n ? n : 1);
    memcpy(data, buf, n);
    free(buf);
    fprintf(stderr, "%s\n", path);
    LLVMFuzzerTestOneInput(data, n);
    free(data);
    replayed++;
}

static void replay(const char *path) {
    struct stat st;
    if (stat(path, &st)) {
        fprintf(stderr, "no %s\n", path);
        exit(1);
    }
    if (!S_ISDIR(st.st_mode)) {
        replay_file(path);
        return;
    }
    struct dirent **names;
    int n = scandir(path, &names, NULL, alphasort);
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            char sub[4096];
            snprintf(sub, sizeof sub, "%s/%s", path, names[i]->d_name);
            replay(sub);
        }
        free(names[i]);
    }
    free(names);
}

int main(int argc, char **argv) {
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++)
        replay(argv[i]);
    printf("%d passed, 0 failed\n", replayed);
    return replayed ? 0 : 1;
}
