/*
 * rbf.c -- the RBF tutorial's network in plain C (float64).
 *
 *   zh = x * wh,  h = exp(-zh^2),  y = 1 / (1 + exp(-(h + bo)))
 *   loss = -mean(t log y + (1 - t) log(1 - y))
 *
 * Full-batch gradient descent as the tutorial's update writes it:
 *   wh <- mean_i(wh - lr * x_i * (-2 zh_i h_i) (y_i - t_i))
 *   bo <- mean_i(bo - lr * (y_i - t_i))
 * (summed in sample order, divided once).
 */
#include <math.h>

static inline double logistic(double z) { return 1.0 / (1.0 + exp(-z)); }

double rbf_loss(const double *x, const double *t, long n, double wh, double bo)
{
    double total = 0;
    for (long i = 0; i < n; i++) {
        double zh = x[i] * wh;
        double y = logistic(exp(-zh * zh) + bo);
        total += t[i] * log(y) + (1.0 - t[i]) * log(1.0 - y);
    }
    return -(total / n);
}

/* path: (n_iter + 1) rows of (wh, bo, loss); returns nothing, writes path. */
void rbf_train(const double *x, const double *t, long n, double wh, double bo, double lr,
               long n_iter, double *path)
{
    path[0] = wh;
    path[1] = bo;
    path[2] = rbf_loss(x, t, n, wh, bo);
    for (long k = 0; k < n_iter; k++) {
        double sum_wh = 0, sum_bo = 0;
        for (long i = 0; i < n; i++) {
            double zh = x[i] * wh;
            double h = exp(-zh * zh);
            double y = logistic(h + bo);
            double d_o = y - t[i];
            sum_wh += wh - lr * (x[i] * -2.0 * zh * h * d_o);
            sum_bo += bo - lr * d_o;
        }
        wh = sum_wh / n;
        bo = sum_bo / n;
        path[3 * (k + 1)] = wh;
        path[3 * (k + 1) + 1] = bo;
        path[3 * (k + 1) + 2] = rbf_loss(x, t, n, wh, bo);
    }
}

/* out[p] = loss at (wh[p], bo[p]) */
void rbf_loss_grid(const double *x, const double *t, long n, const double *wh,
                   const double *bo, long n_points, double *out)
{
    for (long p = 0; p < n_points; p++) out[p] = rbf_loss(x, t, n, wh[p], bo[p]);
}
