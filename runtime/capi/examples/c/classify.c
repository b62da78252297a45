/* Names what a bundle predicts, the way a device reports it: the bundle's modality names, then for
 * each input row the predicted class's name (`ssmvae_model_class_name`, borrowed from the bundle)
 * and its probability.
 *
 *   classify BUNDLE INPUTS
 *
 * INPUTS is predict.c's text: the number of rows, then for each row and each modality (in the
 * bundle's order) either "-" (missing) or modality_dim raw values. Prints "modalities: a b c",
 * then one line per row: "CLASS_NAME PROBABILITY".
 * Build: cc -I runtime/capi/include classify.c libssmvae_capi.a -lm -lpthread -ldl
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
    size_t m = ssmvae_model_num_modalities(model);
    size_t k = ssmvae_model_num_classes(model);
    printf("modalities:");
    for (size_t j = 0; j < m; j++) printf(" %s", ssmvae_model_modality_name(model, j));
    printf("\n");

    SsmvaeWorkspace *ws = NULL;
    rc = ssmvae_workspace_new(model, &ws);
    if (rc != SSMVAE_OK) return fail("ssmvae_workspace_new", rc);
    FILE *in = fopen(argv[2], "r");
    if (!in) { perror(argv[2]); return 1; }
    size_t rows = 0;
    if (fscanf(in, "%zu", &rows) != 1) { fprintf(stderr, "bad input file\n"); return 1; }
    float **values = calloc(m, sizeof(float *));
    const float **inputs = calloc(m, sizeof(float *));
    float *probs = calloc(k, sizeof(float));
    for (size_t r = 0; r < rows; r++) {
        for (size_t j = 0; j < m; j++) {
            char tok[64];
            inputs[j] = NULL;
            if (fscanf(in, "%63s", tok) != 1) { fprintf(stderr, "bad input file\n"); return 1; }
            if (strcmp(tok, "-") == 0) continue;
            size_t d = ssmvae_model_modality_dim(model, j);
            free(values[j]);
            values[j] = calloc(d, sizeof(float));
            values[j][0] = strtof(tok, NULL);
            for (size_t i = 1; i < d; i++)
                if (fscanf(in, "%f", &values[j][i]) != 1) { fprintf(stderr, "bad input file\n"); return 1; }
            inputs[j] = values[j];
        }
        rc = ssmvae_predict(model, ws, inputs, m, probs, k, NULL, 0);
        if (rc != SSMVAE_OK) return fail("ssmvae_predict", rc);
        size_t best = 0;
        for (size_t c = 1; c < k; c++)
            if (probs[c] > probs[best]) best = c;
        printf("%s %.6f\n", ssmvae_model_class_name(model, best), (double)probs[best]);
    }
    fclose(in);
    for (size_t j = 0; j < m; j++) free(values[j]);
    free(values); free(inputs); free(probs);
    ssmvae_workspace_free(ws);
    ssmvae_model_free(model);
    return 0;
}
