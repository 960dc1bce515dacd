/*
 * fann_driver.c -- FANN (the Fast Artificial Neural Network library, Debian's
 * libfann-dev) trained the way cyprop trains online: incremental
 * backpropagation, one fann_train() call per sample, samples in order.
 *
 * Compiled by bench/cbuild.py twice: with -DCB_DOUBLE against doublefann
 * (fann_type = double) and without it against floatfann (float).
 *
 * FANN's maths, and where it differs from cyprop's:
 * - FANN_SIGMOID is 1 / (1 + exp(-2 s x)); steepness s = 0.5 gives the
 *   ordinary logistic sigmoid, and its derivative 2 s y (1 - y) = y (1 - y).
 * - FANN has no softmax: the output layer is a sigmoid and the error is the
 *   squared error (FANN_ERRORFUNC_LINEAR), so it is compared with cyprop
 *   trained on the same (sigmoid output, squared error) network.
 * - FANN clips y to [0.01, 0.99] inside the sigmoid's derivative, so once a
 *   unit saturates its gradient differs from the true one.
 * - FANN's learning rate is a C float, even in doublefann.
 * Weights are copied straight into and out of ann->weights (fann_data.h
 * makes the struct public).  fann_get_connection_array lists the connections
 * in ann->weights order, with their source and destination neurons; that is
 * used once to map each weight to cyprop's flat layout (row-major W_l of
 * shape (n_out, n_in), then b_l, layer after layer).  fann_set_weight_array
 * is not used: it searches all connections for each one it sets (quadratic).
 */
#include <stdlib.h>
#include <string.h>
#ifdef CB_DOUBLE
#include <doublefann.h>
#else
#include <floatfann.h>
#endif

#define MAXL 16

typedef struct {
    struct fann *ann;
    unsigned n_layers;          /* counting the input layer */
    unsigned sizes[MAXL];
    unsigned first[MAXL];       /* global index of each layer's first neuron */
    unsigned n_conn;
    long *index;                /* ann->weights[c] <-> params[index[c]] */
} fb_t;

/* Offset into cyprop's flat layout of a connection; -1 if not recognised. */
static long flat_index(const fb_t *fb, unsigned from, unsigned to)
{
    long off = 0;
    for (unsigned l = 1; l < fb->n_layers; l++) {
        unsigned n_in = fb->sizes[l - 1], n_out = fb->sizes[l];
        if (to >= fb->first[l] && to < fb->first[l] + n_out) {
            unsigned j = to - fb->first[l];
            if (from < fb->first[l - 1] || from > fb->first[l - 1] + n_in) return -1;
            unsigned i = from - fb->first[l - 1];
            if (i == n_in) return off + (long)n_in * n_out + j; /* bias neuron */
            return off + (long)j * n_in + i;
        }
        off += (long)n_in * n_out + n_out;
    }
    return -1;
}

void *fb_create(unsigned n_layers, const long *sizes, double learning_rate)
{
    fb_t *fb = calloc(1, sizeof(fb_t));
    unsigned layers[MAXL], idx = 0;
    if (fb == NULL || n_layers > MAXL || n_layers < 2) {
        free(fb);
        return NULL;
    }
    fb->n_layers = n_layers;
    for (unsigned l = 0; l < n_layers; l++) {
        layers[l] = fb->sizes[l] = (unsigned)sizes[l];
        fb->first[l] = idx;
        idx += fb->sizes[l] + 1;   /* every layer carries a bias neuron */
    }
    fb->ann = fann_create_standard_array(n_layers, layers);
    if (fb->ann == NULL) {
        free(fb);
        return NULL;
    }
    fann_set_activation_function_hidden(fb->ann, FANN_SIGMOID);
    fann_set_activation_function_output(fb->ann, FANN_SIGMOID);
    fann_set_activation_steepness_hidden(fb->ann, 0.5);
    fann_set_activation_steepness_output(fb->ann, 0.5);
    fann_set_train_error_function(fb->ann, FANN_ERRORFUNC_LINEAR);
    fann_set_training_algorithm(fb->ann, FANN_TRAIN_INCREMENTAL);
    fann_set_learning_rate(fb->ann, (float)learning_rate);
    fann_set_learning_momentum(fb->ann, 0.0f);
    fb->n_conn = fann_get_total_connections(fb->ann);
    struct fann_connection *conn = malloc(fb->n_conn * sizeof(struct fann_connection));
    fb->index = malloc(fb->n_conn * sizeof(long));
    if (conn == NULL || fb->index == NULL) {
        free(conn);
        free(fb->index);
        fann_destroy(fb->ann);
        free(fb);
        return NULL;
    }
    fann_get_connection_array(fb->ann, conn);
    for (unsigned c = 0; c < fb->n_conn; c++)
        fb->index[c] = flat_index(fb, conn[c].from_neuron, conn[c].to_neuron);
    free(conn);
    return fb;
}

void fb_destroy(void *h)
{
    fb_t *fb = h;
    if (fb == NULL) return;
    fann_destroy(fb->ann);
    free(fb->index);
    free(fb);
}

/* Copy params (cyprop layout) into the network; returns weights mapped. */
long fb_set_params(void *h, const fann_type *params)
{
    fb_t *fb = h;
    long mapped = 0;
    for (unsigned c = 0; c < fb->n_conn; c++)
        if (fb->index[c] >= 0) {
            fb->ann->weights[c] = params[fb->index[c]];
            mapped++;
        }
    return mapped;
}

long fb_get_params(void *h, fann_type *params)
{
    fb_t *fb = h;
    long mapped = 0;
    for (unsigned c = 0; c < fb->n_conn; c++)
        if (fb->index[c] >= 0) {
            params[fb->index[c]] = fb->ann->weights[c];
            mapped++;
        }
    return mapped;
}

/* epochs x (one fann_train per sample, in order) */
void fb_train(void *h, const fann_type *X, const fann_type *Y, long n_samples, long epochs)
{
    fb_t *fb = h;
    long n_in = fb->sizes[0], n_out = fb->sizes[fb->n_layers - 1];
    for (long e = 0; e < epochs; e++)
        for (long s = 0; s < n_samples; s++)
            fann_train(fb->ann, (fann_type *)(X + s * n_in), (fann_type *)(Y + s * n_out));
}

/* forward pass of one sample; copies the outputs */
void fb_run(void *h, const fann_type *x, fann_type *out)
{
    fb_t *fb = h;
    fann_type *y = fann_run(fb->ann, (fann_type *)x);
    memcpy(out, y, fb->sizes[fb->n_layers - 1] * sizeof(fann_type));
}

/* FANN's default training, batch RPROP (FANN_TRAIN_RPROP, its iRprop- with
 * the default constants 1.2, 0.5, delta_min 0, delta_max 50, delta_zero 0.1),
 * as fann_train_on_data runs it: one fann_train_epoch per epoch over the
 * whole set (X, Y copied once into a fann_train_data).  Returns FANN's MSE of
 * the last epoch, or -1 if the data could not be allocated. */
double fb_train_rprop(void *h, const fann_type *X, const fann_type *Y, long n_samples,
                      long epochs)
{
    fb_t *fb = h;
    unsigned n_in = fb->sizes[0], n_out = fb->sizes[fb->n_layers - 1];
    struct fann_train_data *data = fann_create_train((unsigned)n_samples, n_in, n_out);
    double mse = 0;
    if (data == NULL) return -1;
    for (long s = 0; s < n_samples; s++) {
        memcpy(data->input[s], X + s * n_in, n_in * sizeof(fann_type));
        memcpy(data->output[s], Y + s * n_out, n_out * sizeof(fann_type));
    }
    fann_set_training_algorithm(fb->ann, FANN_TRAIN_RPROP);
    for (long e = 0; e < epochs; e++)
        mse = fann_train_epoch(fb->ann, data);
    fann_set_training_algorithm(fb->ann, FANN_TRAIN_INCREMENTAL);
    fann_destroy_train(data);
    return mse;
}
