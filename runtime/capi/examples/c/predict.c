/* Predicts with an ssmvae bundle through the C API.
 *
 *   predict BUNDLE INPUTS
 *
 * INPUTS is text: the number of rows, then for each row and each modality (in the bundle's
 * modality order) either "-" (missing) or modality_dim raw values. For each row it prints the
 * class probabilities and the latent mean, each value as %.8f, space-separated, "|" between them.
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

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s BUNDLE INPUTS\n", argv[0]);
        return 2;
    }
    SsmvaeModel *model = NULL;
    int32_t rc = ssmvae_model_open(argv[1], &model);
    if (rc != SSMVAE_OK) return fail("ssmvae_model_open", rc);
    SsmvaeWorkspace *ws = NULL;
    rc = ssmvae_workspace_new(model, &ws);
    if (rc != SSMVAE_OK) return fail("ssmvae_workspace_new", rc);

    size_t m = ssmvae_model_num_modalities(model);
    size_t k = ssmvae_model_num_classes(model);
    size_t latent = ssmvae_model_latent_dim(model);
    float **bufs = calloc(m, sizeof(float *));
    const float **inputs = calloc(m, sizeof(float *));
    float *probs = calloc(k, sizeof(float));
    float *mean = calloc(latent, sizeof(float));
    for (size_t j = 0; j < m; j++) bufs[j] = calloc(ssmvae_model_modality_dim(model, j), sizeof(float));

    FILE *in = fopen(argv[2], "r");
    if (!in) { perror(argv[2]); return 1; }
    size_t rows = 0;
    if (fscanf(in, "%zu", &rows) != 1) { fprintf(stderr, "bad input file\n"); return 1; }
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < m; j++) {
            char tok[64];
            if (fscanf(in, "%63s", tok) != 1) { fprintf(stderr, "bad input file\n"); return 1; }
            if (strcmp(tok, "-") == 0) { inputs[j] = NULL; continue; }
            size_t d = ssmvae_model_modality_dim(model, j);
            bufs[j][0] = strtof(tok, NULL);
            for (size_t i = 1; i < d; i++)
                if (fscanf(in, "%f", &bufs[j][i]) != 1) { fprintf(stderr, "bad input file\n"); return 1; }
            inputs[j] = bufs[j];
        }
        rc = ssmvae_predict(model, ws, inputs, m, probs, k, mean, latent);
        if (rc != SSMVAE_OK) return fail("ssmvae_predict", rc);
        for (size_t c = 0; c < k; c++) printf("%s%.8f", c ? " " : "", (double)probs[c]);
        printf(" |");
        for (size_t c = 0; c < latent; c++) printf(" %.8f", (double)mean[c]);
        printf("\n");
    }
    fclose(in);
    for (size_t j = 0; j < m; j++) free(bufs[j]);
    free(bufs); free(inputs); free(probs); free(mean);
    ssmvae_workspace_free(ws);
    ssmvae_model_free(model);
    return 0;
}
