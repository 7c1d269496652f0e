// Exposes the selection prior functions so tests can compare them with their
// NumPy twins (run with fixed_param and 18 significant digits).
functions {
  #include functions/selection.stanfunctions
}
data {
  int<lower=1> N;
  int<lower=1> S;
  int<lower=1> G;
  matrix[N, S] X; // selected columns
  vector[N] r; // residuals
  array[N] int<lower=1, upper=G> group;
  vector<lower=0>[G] precision; // noise precision of each group
  vector[S] beta;
  vector<lower=0>[S] x_var;
  vector<lower=0>[S] lambda;
  vector<lower=0>[1] tau_unit;
  vector<lower=0>[1] caux;
  vector<lower=0>[S] lasso_e;
  vector<lower=0>[1] lasso_lambda2;
  real<lower=0> noise;
  real<lower=0> tau0;
  real<lower=0> slab_scale;
  vector<lower=0, upper=1>[1] rate;
  real<lower=0> spike;
  real<lower=0> threshold;
}
transformed data {
  array[G] matrix[S, S] XtX;
  for (g in 1 : G) {
    XtX[g] = rep_matrix(0, S, S);
  }
  for (n in 1 : N) {
    XtX[group[n]] += X[n]' * X[n];
  }
}
generated quantities {
  vector[S] hs_scale = selection_scales(1, noise, tau0, slab_scale, lambda,
                                        tau_unit, caux, lasso_e, lasso_lambda2,
                                        S);
  vector[S] lasso_scale = selection_scales(3, noise, tau0, slab_scale, lambda,
                                           tau_unit, caux, lasso_e,
                                           lasso_lambda2, S);
  real ss_lp = spike_slab_lpdf(beta | rate[1], spike, slab_scale);
  matrix[S, S] XtWX = group_crossprod(XtX, precision);
  real collapsed_lp = collapsed_normal_lpdf(r | X, XtWX, precision[group],
                                            hs_scale);
  vector[S] conditional_mean = collapsed_coefficients_rng(r, X, XtWX,
                                                          precision[group],
                                                          hs_scale, 1);
  vector[S] conditional_draw = collapsed_coefficients_rng(r, X, XtWX,
                                                          precision[group],
                                                          hs_scale, 0);
  vector[S] hs_inclusion = selection_inclusion(1, beta, hs_scale, noise,
                                               x_var, N, rate, spike,
                                               slab_scale, threshold);
  vector[S] ss_inclusion = selection_inclusion(2, beta, hs_scale, noise,
                                               x_var, N, rate, spike,
                                               slab_scale, threshold);
  vector[S] lasso_inclusion = selection_inclusion(3, beta, hs_scale, noise,
                                                  x_var, N, rate, spike,
                                                  slab_scale, threshold);
}
