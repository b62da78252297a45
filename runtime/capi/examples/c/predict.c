/* Predicts and imputes with an ssmvae bundle through the C API, the way a device would: the
 * bundle is read into memory the caller owns (flash on a microcontroller) and opened in place,
 * and every computation runs in one float arena the caller allocates once.
 *
 *   predict BUNDLE INPUTS
 *
 * INPUTS is text: the number of rows, then for each row and each modality (in the bundle's
 * modality order) either "-" (missing) or modality_dim raw values. For each row it prints the
 * class probabilities and the latent mean, each value as %.8f, space-separated, "|" between them.
 * Then the same for the whole input as one batch (`ssmvae_predict_batch`), each line prefixed
 * "batch". If the bundle carries decoders, then for each row and each missing modality, a line
 * "impute ROW MODALITY:" with the imputed raw values. It also checks that the handle API
 * (`ssmvae_predict`) gives the same probabilities.
 * Build: cc -I runtime/capi/include predict.c libssmvae_capi.a -lm -lpthread -ldl
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "ssmvae.h"

static int fail(const char *what, int32_t code) {
    fprintf(stderr, "%s failed (%d): %s\n", what, code, ssmvae_last_error());
    return 1;
}

static void print_row(const char *prefix, const float *probs, size_t k, const float *mean, size_t latent) {
    printf("%s", prefix);
    for (size_t c = 0; c < k; c++) printf("%s%.8f", c ? " " : "", (double)probs[c]);
    printf(" |");
    for (size_t c = 0; c < latent; c++) printf(" %.8f", (double)mean[c]);
    printf("\n");
}

/* The whole file in malloc'd memory (malloc aligns to at least 8 bytes, as the bundle needs). */
static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *data = malloc(size > 0 ? (size_t)size : 1);
    if (data && fread(data, 1, (size_t)size, f) != (size_t)size) { free(data); data = NULL; }
    fclose(f);
    *len = (size_t)size;
    return data;
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s BUNDLE INPUTS\n", argv[0]);
        return 2;
    }
    size_t bundle_len = 0;
    unsigned char *bundle = read_file(argv[1], &bundle_len);
    if (!bundle) { perror(argv[1]); return 1; }
    SsmvaeModel *model = NULL;
    int32_t rc = ssmvae_model_open_memory(bundle, bundle_len, &model);
    if (rc != SSMVAE_OK) return fail("ssmvae_model_open_memory", rc);
    size_t arena_len = ssmvae_model_workspace_len(model);
    float *arena = calloc(arena_len, sizeof(float));

    size_t m = ssmvae_model_num_modalities(model);
    size_t k = ssmvae_model_num_classes(model);
    size_t latent = ssmvae_model_latent_dim(model);
    FILE *in = fopen(argv[2], "r");
    if (!in) { perror(argv[2]); return 1; }
    size_t rows = 0;
    if (fscanf(in, "%zu", &rows) != 1 || rows == 0) { fprintf(stderr, "bad input file\n"); return 1; }
    /* Every row's values, and the pointer table the batch call reads (row-major, NULL = missing). */
    float **values = calloc(rows * m, sizeof(float *));
    const float **inputs = calloc(rows * m, sizeof(float *));
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < m; j++) {
            char tok[64];
            if (fscanf(in, "%63s", tok) != 1) { fprintf(stderr, "bad input file\n"); return 1; }
            if (strcmp(tok, "-") == 0) continue;
            size_t d = ssmvae_model_modality_dim(model, j);
            float *v = calloc(d, sizeof(float));
            v[0] = strtof(tok, NULL);
            for (size_t i = 1; i < d; i++)
                if (fscanf(in, "%f", &v[i]) != 1) { fprintf(stderr, "bad input file\n"); return 1; }
            values[r * m + j] = v;
            inputs[r * m + j] = v;
        }
    }
    fclose(in);

    /* One sample at a time, in the arena; the handle API must agree. */
    float *probs = calloc(rows * k, sizeof(float));
    float *mean = calloc(rows * latent, sizeof(float));
    float *scale = calloc(rows * latent, sizeof(float));
    float *probs2 = calloc(k, sizeof(float));
    SsmvaeWorkspace *ws = NULL;
    rc = ssmvae_workspace_new(model, &ws);
    if (rc != SSMVAE_OK) return fail("ssmvae_workspace_new", rc);
    for (size_t r = 0; r < rows; r++) {
        rc = ssmvae_predict_into(model, arena, arena_len, &inputs[r * m], m, probs, k, mean, scale,
                                 latent, NULL);
        if (rc != SSMVAE_OK) return fail("ssmvae_predict_into", rc);
        print_row("", probs, k, mean, latent);
        rc = ssmvae_predict(model, ws, &inputs[r * m], m, probs2, k, NULL, 0);
        if (rc != SSMVAE_OK) return fail("ssmvae_predict", rc);
        if (memcmp(probs, probs2, k * sizeof(float)) != 0) {
            fprintf(stderr, "row %zu: ssmvae_predict and ssmvae_predict_into differ\n", r);
            return 1;
        }
    }
    /* The whole input as one batch, in an arena sized for it (one pass). */
    size_t batch_len = ssmvae_model_batch_workspace_len(model, rows);
    float *batch_arena = calloc(batch_len, sizeof(float));
    size_t *classes = calloc(rows, sizeof(size_t));
    rc = ssmvae_predict_batch(model, batch_arena, batch_len, inputs, rows, m, probs, k, mean, scale,
                              latent, classes);
    if (rc != SSMVAE_OK) return fail("ssmvae_predict_batch", rc);
    for (size_t r = 0; r < rows; r++) print_row("batch ", &probs[r * k], k, &mean[r * latent], latent);
    /* What each missing modality would have shown. */
    if (ssmvae_model_has_decoders(model)) {
        float **outputs = calloc(m, sizeof(float *));
        for (size_t r = 0; r < rows; r++) {
            for (size_t j = 0; j < m; j++)
                outputs[j] = inputs[r * m + j] ? NULL
                                               : calloc(ssmvae_model_modality_dim(model, j), sizeof(float));
            rc = ssmvae_impute(model, arena, arena_len, &inputs[r * m], m, -1, outputs, NULL);
            if (rc != SSMVAE_OK) return fail("ssmvae_impute", rc);
            for (size_t j = 0; j < m; j++) {
                if (!outputs[j]) continue;
                printf("impute %zu %zu:", r, j);
                for (size_t i = 0; i < ssmvae_model_modality_dim(model, j); i++)
                    printf(" %.8f", (double)outputs[j][i]);
                printf("\n");
                free(outputs[j]);
            }
        }
        free(outputs);
    }
    for (size_t i = 0; i < rows * m; i++) free(values[i]);
    free(values); free(inputs); free(probs); free(mean); free(scale); free(probs2); free(classes);
    free(arena);
    free(batch_arena);
    ssmvae_workspace_free(ws);
    ssmvae_model_free(model);
    free(bundle);
    return 0;
}
