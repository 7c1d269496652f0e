// The single-market Bayesian linear model (classes blm and pooled), generic
// over configs: which transforms each channel uses, every prior and every
// bound arrive as data, so one compiled program serves every single-market
// config. The pooled class adds labels: the effects at the typical level of
// media terms that share a label are pooled on the log scale toward that
// label's level (log beta_eff_m = mu + sum of its labels' effects
// + sigma_pool * eps_m, non-centred).
//
// The response is on the modelling scale (the KPI or its log, standardised
// when model.standardise is on); mmm_runner maps every result back to the
// original scale.
//
// Two reparameterisations make the posterior easy for NUTS without changing
// the model (priors stay on alpha and beta):
// * each media coefficient is sampled as its effect at the channel's typical
//   level, beta_eff = beta * s(1), which the data pin down, instead of the
//   effect at full saturation, which trades off against the curve's shape;
// * the intercept is sampled at the fitted periods' average media effects.
//
// Variable selection (model.selection): the X columns of precision controls
// take a horseshoe, spike-and-slab or lasso prior in place of their own
// (functions/selection.stanfunctions); beta_x then holds only the other X
// coefficients. Spike-and-slab samples its coefficients (ss_beta); horseshoe
// and lasso integrate theirs out of the likelihood (they are 0 in `coef`) and
// draw them in generated quantities, where `beta` holds every coefficient.
// Without a selection every selection size is 0 and beta_x holds every X
// coefficient.
//
// GP trend (model.trend.type gp): the trend's Hilbert-space basis columns of X
// take the GP's normal prior given its amplitude and lengthscale
// (functions/gp.stanfunctions), and are integrated out beside horseshoe's and
// lasso's coefficients: the "integrated-out" set below is both.
//
// Time-varying media effects (model.media[].time_varying): a drifting
// channel's column of S is multiplied by its effectiveness multiplier
// (tvp_multipliers in functions/gp.stanfunctions) wherever S is used.
functions {
  #include functions/transforms.stanfunctions
  #include functions/priors.stanfunctions
  #include functions/media.stanfunctions
  #include functions/calibration.stanfunctions
  #include functions/selection.stanfunctions
  #include functions/gp.stanfunctions
}
data {
  int<lower=1> N; // periods in the fit
  int<lower=0> N_pred; // periods after the fit (holdout), predicted only
  vector[N] y; // response on the modelling scale

  int<lower=0> M; // media channels
  int<lower=1> L; // longest adstock window (lags)
  array[M] matrix[N + N_pred, L] X_lag; // scaled media at lags 0..L-1
  array[M] int<lower=0, upper=3> adstock_type; // registry code per channel
  array[M] int<lower=1, upper=L> l_max; // adstock window per channel
  array[M] int<lower=0, upper=5> saturation_type; // registry code per channel
  array[M] int<lower=1> theta_start; // first transform parameter of each channel

  int<lower=0> P; // transform parameters of all channels, stacked
  vector[P] theta_lower; // lower bound of each (its support)
  vector[P] theta_upper; // upper bound of each
  array[P] int<lower=1> theta_prior; // prior family code of each
  matrix[P, 3] theta_prior_args; // prior arguments, padded to 3

  int<lower=0> K; // other columns: controls, trend, seasonality
  matrix[N + N_pred, K] X; // their values on the modelling scale
  vector[M + K] beta_lower; // hard bounds of the coefficients (media first)
  vector[M + K] beta_upper;
  array[M + K] int<lower=1> beta_prior; // prior family code of each coefficient
  matrix[M + K, 3] beta_prior_args;

  int<lower=1> alpha_prior; // intercept prior
  vector[3] alpha_prior_args;
  int<lower=1> sigma_prior; // noise scale prior
  vector[3] sigma_prior_args;

  int<lower=0> D; // pooling dimensions (0: no pooling, class blm)
  int<lower=0> n_labels; // labels over all dimensions
  array[M, D] int<lower=0, upper=n_labels> label; // each term's label per dimension (0: none)
  array[n_labels] int<lower=1, upper=D> label_dim; // each label's dimension
  array[M] int<lower=0, upper=1> is_pooled; // 1: the term's coefficient is pooled

  // lift tests (calibration): measured lifts on the modelling scale (KPI / sd)
  int<lower=0> n_tests;
  array[n_tests] int<lower=1, upper=M> test_channel;
  array[n_tests] int<lower=1> test_group; // the group it ran in (1 for one series)
  array[n_tests] int<lower=1> test_from; // its first row in the stacked lag matrices
  array[n_tests] int<lower=1> test_len; // its measured periods
  int<lower=0> n_test_rows;
  matrix[n_test_rows, L] test_lag_with; // the channel's scaled lags with the change
  matrix[n_test_rows, L] test_lag_without; // and as it ran
  vector[n_tests] test_lift;
  vector<lower=0>[n_tests] test_se;

  // ROI priors: a prior on roi = beta[m] * (roi_weight[r] * s_m) in place of beta[m]'s
  // own; roi_weight holds each fitted period's KPI value per window spend, times the
  // KPI sd (0 outside the window), so roi is in the units of roi.csv. Share priors
  // take the same form: their weight is the KPI sd over the window's observed KPI
  int<lower=0> n_roi;
  array[n_roi] int<lower=1, upper=M> roi_channel;
  matrix[n_roi, N] roi_weight;
  array[n_roi] int<lower=1> roi_prior;
  matrix[n_roi, 3] roi_prior_args;

  // variable selection (model.selection) of some X columns (precision controls)
  int<lower=0, upper=3> sel_prior; // 0: none, 1: horseshoe, 2: spike_slab, 3: lasso
  int<lower=0, upper=K> n_sel; // selected columns
  array[n_sel] int<lower=1, upper=K> sel_col; // which X columns
  vector<lower=0>[n_sel] sel_x_var; // their variance over the fitted rows
  real<lower=0> sel_tau0; // horseshoe: D0 / (D - D0) / sqrt(N); tau0 = sel_tau0 * sigma
  real<lower=0> sel_slab_scale; // horseshoe and spike_slab: sd of the slab
  real<lower=0> sel_slab_df; // horseshoe: degrees of freedom of the slab
  real<lower=0> sel_spike_scale; // spike_slab: sd of the spike
  vector<lower=0>[2] sel_rate_prior; // spike_slab: beta(a, b) of the inclusion rate
  real<lower=0> sel_threshold; // lasso: |beta| above it counts as included

  // GP trend (model.trend.type gp): its basis columns of X (none otherwise)
  int<lower=0, upper=K> n_gp;
  array[n_gp] int<lower=1, upper=K> gp_col;
  vector<lower=0>[n_gp] gp_eigen; // lambda_j in the basis coordinate
  vector<lower=0>[n_gp] gp_x_sd; // the columns' standardising sds
  real<lower=0> gp_half_range; // periods per unit of the basis coordinate
  real<lower=0> gp_unit; // the response's sd over the fitted rows (the amplitude's unit)
  int<lower=1> gp_lengthscale_prior; // in periods
  vector[3] gp_lengthscale_prior_args;
  int<lower=1> gp_amplitude_prior; // in units of gp_unit
  vector[3] gp_amplitude_prior_args;

  // time-varying media effects (model.media[].time_varying): drifting channels
  int<lower=0, upper=M> n_tvp;
  array[n_tvp] int<lower=1, upper=M> tvp_channel;
  int<lower=0> m_tvp; // basis functions of the shared drift basis
  matrix[N + N_pred, m_tvp] tvp_basis; // every row; rows after the fit repeat the last fitted one
  vector<lower=0>[m_tvp] tvp_eigen;
  real<lower=0> tvp_half_range;
  array[n_tvp] int<lower=1> tvp_lengthscale_prior; // in periods
  matrix[n_tvp, 3] tvp_lengthscale_prior_args;
  array[n_tvp] int<lower=1> tvp_amplitude_prior; // sd of log effectiveness
  matrix[n_tvp, 3] tvp_amplitude_prior_args;

  int<lower=0, upper=1> prior_only; // 1: ignore the likelihood
  int<lower=0, upper=1> save_mu; // 1: also write the linear predictor
  // 0 for optimisation without Jacobians (MAP), so that the optimum is the
  // posterior mode in alpha and beta; 1 otherwise.
  int<lower=0, upper=1> use_jacobian;
}
transformed data {
  int T = N + N_pred;
  array[M] int roi_on = rep_array(0, M); // 1: the channel's prior is on its ROI
  roi_on[roi_channel] = rep_array(1, n_roi);
  row_vector[N] fit_mean = rep_row_vector(1.0 / N, N);
  row_vector[T] tvp_centre = append_col(fit_mean, rep_row_vector(0, N_pred));
  int M_pool = sum(is_pooled);
  int hs = sel_prior == 1; // which selection prior's parameters exist
  int ss = sel_prior == 2;
  int la = sel_prior == 3;
  int collapse = hs || la; // the selected coefficients are integrated out
  int gp = n_gp > 0; // a GP trend's hyperparameters exist
  // the integrated-out X columns: the selected ones (horseshoe, lasso), then the GP basis
  int n_int = collapse * n_sel + n_gp;
  array[n_int] int int_col = append_array(head(sel_col, collapse * n_sel), gp_col);
  array[n_int] int int_idx; // their indices in beta
  matrix[N, n_int] X_int = X[1 : N, int_col]; // their fitted rows
  matrix[n_int, n_int] XtX_int = crossprod(X_int);
  // the X columns of the likelihood's mean: all but the integrated-out ones
  array[K - n_int] int mean_col;
  array[n_sel] int sel_idx; // the selected coefficients' indices in beta
  // 1: under the selection or GP prior, not the coefficient's own
  array[M + K] int shrunk = rep_array(0, M + K);
  array[K - n_sel - n_gp] int free_col; // X columns with their own priors
  vector[n_sel] sel_lower; // sign bounds of the selected (0 or infinite)
  vector[n_sel] sel_upper;
  {
    array[K] int is_shrunk = rep_array(0, K);
    is_shrunk[sel_col] = rep_array(1, n_sel);
    is_shrunk[gp_col] = rep_array(1, n_gp);
    array[K] int is_int = rep_array(0, K);
    is_int[int_col] = rep_array(1, n_int);
    int f = 1;
    int c = 1;
    for (k in 1 : K) {
      shrunk[M + k] = is_shrunk[k];
      if (!is_shrunk[k]) {
        free_col[f] = k;
        f += 1;
      }
      if (!is_int[k]) {
        mean_col[c] = k;
        c += 1;
      }
    }
    for (s in 1 : n_sel) {
      sel_idx[s] = M + sel_col[s];
      sel_lower[s] = beta_lower[M + sel_col[s]];
      sel_upper[s] = beta_upper[M + sel_col[s]];
    }
    for (i in 1 : n_int) {
      int_idx[i] = M + int_col[i];
    }
  }
  matrix[N, K - n_int] X_mean = X[1 : N, mean_col];
  array[M - M_pool] int free_idx; // media with their own prior
  array[M_pool] int pool_idx; // media whose effects are pooled
  {
    int f = 1;
    int q = 1;
    for (m in 1 : M) {
      if (is_pooled[m]) {
        pool_idx[q] = m;
        q += 1;
      } else {
        free_idx[f] = m;
        f += 1;
      }
    }
  }
}
parameters {
  real alpha_c; // intercept at the average media effects of the fit
  vector<lower=theta_lower, upper=theta_upper>[P] theta; // transform parameters
  vector<lower=scale_finite(beta_lower[free_idx],
                            typical_saturation(adstock_type, saturation_type,
                                               theta_start, theta)[free_idx]),
         upper=scale_finite(beta_upper[free_idx],
                            typical_saturation(adstock_type, saturation_type,
                                               theta_start, theta)[free_idx])>[M - M_pool] beta_eff_free;
  vector<lower=tail(beta_lower, K)[free_col],
         upper=tail(beta_upper, K)[free_col]>[K - n_sel - n_gp] beta_x; // X coefficients with own priors
  real<lower=0> sigma; // noise scale
  vector[D > 0 ? 1 : 0] pool_mu; // log-scale level shared by pooled terms
  vector[n_labels] pool_z; // standardised label effects
  vector<lower=0>[D] pool_tau; // spread of label effects, per dimension
  vector<lower=0>[D > 0 ? 1 : 0] pool_sigma; // spread of terms around their labels
  vector[M_pool] pool_eps; // standardised term effects around their labels
  // selection: spike_slab's coefficients (horseshoe and lasso integrate them out)
  vector<lower=head(sel_lower, ss ? n_sel : 0),
         upper=head(sel_upper, ss ? n_sel : 0)>[ss ? n_sel : 0] ss_beta;
  vector<lower=0>[hs ? n_sel : 0] hs_lambda; // horseshoe local scales
  vector<lower=0>[hs] hs_tau_unit; // horseshoe global scale / (tau0 * sigma)
  vector<lower=0>[hs] hs_caux; // horseshoe slab: c^2 = slab_scale^2 * caux
  vector<lower=0, upper=1>[ss] ss_rate; // spike_slab: prior inclusion rate
  vector<lower=0>[la ? n_sel : 0] lasso_e; // lasso: tau_j^2 = 2 e_j / lambda^2
  vector<lower=0>[la] lasso_lambda2; // lasso: lambda^2
  vector<lower=0>[gp] gp_lengthscale; // GP trend: lengthscale in periods
  vector<lower=0>[gp] gp_amplitude; // GP trend: amplitude in units of gp_unit
  array[n_tvp] vector[m_tvp] tvp_z; // drift weights, standardised
  vector<lower=0>[n_tvp] tvp_amplitude; // drift: sd of log effectiveness
  vector<lower=0>[n_tvp] tvp_lengthscale; // drift: lengthscale in periods
}
transformed parameters {
  // the prior scale of each selected coefficient (spike_slab: 1)
  vector[n_sel] sel_scale = selection_scales(sel_prior, sigma, sel_tau0,
                                             sel_slab_scale, hs_lambda,
                                             hs_tau_unit, hs_caux, lasso_e,
                                             lasso_lambda2, n_sel);
  // the prior scale of each integrated-out coefficient
  vector[n_int] int_scale;
  int_scale[1 : (collapse * n_sel)] = head(sel_scale, collapse * n_sel);
  if (gp) {
    int_scale[(collapse * n_sel + 1) : n_int] = gp_scales(gp_eigen,
                                                          gp_amplitude[1] * gp_unit,
                                                          gp_lengthscale[1] / gp_half_range,
                                                          gp_x_sd);
  }
  // Coefficients: media effects at full saturation, then the X columns (those
  // integrated out are 0 here; generated quantities draw them into `beta`).
  vector[M + K] coef;
  {
    vector[M] beta_eff;
    beta_eff[free_idx] = beta_eff_free;
    if (M_pool > 0) {
      vector[n_labels] u = pool_tau[label_dim] .* pool_z;
      for (q in 1 : M_pool) {
        real level = pool_mu[1];
        for (d in 1 : D) {
          if (label[pool_idx[q], d] > 0) {
            level += u[label[pool_idx[q], d]];
          }
        }
        beta_eff[pool_idx[q]] = exp(level + pool_sigma[1] * pool_eps[q]);
      }
    }
    vector[K] x_coef;
    x_coef[free_col] = beta_x;
    x_coef[sel_col] = rep_vector(0, n_sel);
    x_coef[gp_col] = rep_vector(0, n_gp);
    if (ss) {
      x_coef[sel_col] = ss_beta;
    }
    coef = append_row(beta_eff
                      ./ typical_saturation(adstock_type, saturation_type,
                                            theta_start, theta),
                      x_coef);
  }
}
model {
  matrix[T, M] S = media_effects(T, L, X_lag, adstock_type, l_max,
                                 saturation_type, theta_start, theta);
  // each drifting channel's effectiveness multiplier per row (1 on average)
  matrix[T, n_tvp] drift = tvp_multipliers(tvp_basis, tvp_eigen, tvp_z,
                                           tvp_amplitude, tvp_lengthscale,
                                           tvp_half_range, tvp_centre);
  S[ : , tvp_channel] = S[ : , tvp_channel] .* drift;
  real alpha = alpha_c - fit_mean * (S[1 : N] * coef[1 : M]);
  alpha ~ prior(alpha_prior, alpha_prior_args);
  sigma ~ prior(sigma_prior, sigma_prior_args);
  for (j in 1 : (M + K)) {
    if (j > M ? !shrunk[j] : (!is_pooled[j] && !roi_on[j])) {
      coef[j] ~ prior(beta_prior[j], beta_prior_args[j]');
    }
  }
  selection_prior_lp(sel_prior, ss_beta, hs_lambda, hs_tau_unit, hs_caux,
                     sel_slab_df, ss_rate, sel_rate_prior, sel_spike_scale,
                     sel_slab_scale, lasso_e, lasso_lambda2);
  if (gp) {
    gp_lengthscale[1] ~ prior(gp_lengthscale_prior, gp_lengthscale_prior_args);
    gp_amplitude[1] ~ prior(gp_amplitude_prior, gp_amplitude_prior_args);
  }
  for (i in 1 : n_tvp) {
    tvp_z[i] ~ std_normal();
    tvp_amplitude[i] ~ prior(tvp_amplitude_prior[i], tvp_amplitude_prior_args[i]');
    tvp_lengthscale[i] ~ prior(tvp_lengthscale_prior[i], tvp_lengthscale_prior_args[i]');
  }
  for (r in 1 : n_roi) {
    // roi = beta * c with c > 0 given theta: the prior is stated on roi, and
    // log c makes it beta's density (part of the prior, so MAP keeps it too), so
    // the implied ROI prior is the stated one
    real c = roi_weight[r] * S[1 : N, roi_channel[r]];
    coef[roi_channel[r]] * c ~ prior(roi_prior[r], roi_prior_args[r]');
    target += log(c);
  }
  if (D > 0) {
    // Pooled effects at the typical level are lognormal around their labels.
    pool_mu ~ normal(0, 1.5);
    pool_z ~ std_normal();
    pool_tau ~ normal(0, 1);
    pool_sigma ~ normal(0, 0.5);
    pool_eps ~ std_normal();
  }
  for (p in 1 : P) {
    theta[p] ~ prior(theta_prior[p], theta_prior_args[p]');
  }
  if (use_jacobian) {
    // beta_eff = beta * s(1): the change of variables from beta (the pooled
    // terms' prior is stated on beta_eff itself).
    target += -sum(log(typical_saturation(adstock_type, saturation_type,
                                          theta_start, theta)[free_idx]));
  }
  if (!prior_only) {
    vector[N] mu = alpha + S[1 : N] * coef[1 : M];
    if (K > 0) {
      mu += X_mean * tail(coef, K)[mean_col];
    }
    if (n_int > 0) {
      target += collapsed_normal_lpdf(y - mu | X_int, XtX_int,
                                      inv_square(sigma), int_scale);
    } else {
      y ~ normal(mu, sigma);
    }
    if (n_tests > 0) {
      test_lift ~ normal(test_lifts(to_matrix(coef[1 : M]', 1, M), {theta}, test_channel,
                          test_group, test_from, test_len, test_lag_with,
                          test_lag_without, adstock_type, l_max,
                          saturation_type, theta_start), test_se);
    }
  }
}
generated quantities {
  // every coefficient: media at full saturation, then the X columns (with the
  // integrated-out ones drawn from their conditional)
  vector[M + K] beta = coef;
  real alpha; // intercept
  vector[n_tests] lift_pred; // each lift test's lift as the model predicts it
  vector[N] log_lik; // pointwise log likelihood of the fitted periods
  array[T] real y_rep; // posterior predictive draws, fitted and holdout
  vector[save_mu ? T : 0] mu_out; // the linear predictor, when asked for
  // each drifting channel's multiplier per row, with the linear predictor
  matrix[save_mu ? T : 0, n_tvp] tvp_multiplier;
  // each selected coefficient's inclusion in this draw (see selection_inclusion)
  vector[n_sel] sel_inclusion;
  {
    matrix[T, M] S = media_effects(T, L, X_lag, adstock_type, l_max,
                                   saturation_type, theta_start, theta);
    matrix[T, n_tvp] drift = tvp_multipliers(tvp_basis, tvp_eigen, tvp_z,
                                             tvp_amplitude, tvp_lengthscale,
                                             tvp_half_range, tvp_centre);
    S[ : , tvp_channel] = S[ : , tvp_channel] .* drift;
    if (save_mu) {
      tvp_multiplier = drift;
    }
    alpha = alpha_c - fit_mean * (S[1 : N] * beta[1 : M]);
    vector[T] mu = alpha + S * beta[1 : M];
    if (K > 0) {
      mu += X * tail(coef, K);
    }
    if (n_int > 0) {
      // without the likelihood the conditional is the prior; MAP (no Jacobian)
      // takes the conditional mean, a point for a point estimate
      vector[N] precision = rep_vector(inv_square(sigma), N);
      beta[int_idx] = prior_only
                      ? to_vector(normal_rng(rep_vector(0, n_int), int_scale))
                      : collapsed_coefficients_rng(y - mu[1 : N], X_int,
                                                   XtX_int * precision[1],
                                                   precision, int_scale,
                                                   !use_jacobian);
      mu += X[ : , int_col] * beta[int_idx];
    }
    sel_inclusion = selection_inclusion(sel_prior, beta[sel_idx], sel_scale,
                                        sigma, sel_x_var, N, ss_rate,
                                        sel_spike_scale, sel_slab_scale,
                                        sel_threshold);
    for (t in 1 : N) {
      log_lik[t] = normal_lpdf(y[t] | mu[t], sigma);
    }
    y_rep = normal_rng(mu, sigma);
    if (save_mu) {
      mu_out = mu;
    }
    lift_pred = test_lifts(to_matrix(beta[1 : M]', 1, M), {theta}, test_channel,
                            test_group, test_from, test_len, test_lag_with,
                            test_lag_without, adstock_type, l_max,
                            saturation_type, theta_start);
  }
}
