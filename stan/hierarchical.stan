// The hierarchical (panel) model: population-level terms plus terms that vary
// by group with partial pooling, generic over configs like stan/blm.stan (the
// structure, every prior and every bound arrive as data).
//
// Rows are stacked group by group. Each group has its own noise scale. The
// group effects of varying terms are centred (z holds the group values) or
// non-centred (z ~ std_normal, value = population + tau * z): centred suits
// groups whose data pin their effects down, non-centred groups with little
// data (it avoids the funnel). Mixing the two by group length was tried and
// mixed worse than either when the long groups' effects are not sharp; the
// choice is per term instead (`centred`, one flag per varying coefficient): a
// term with a small group spread the data cannot resolve wants non-centred
// beside terms the data pin down.
//
// Parameterised for NUTS as blm.stan is: media coefficients are sampled as the
// effect at the channel's typical level (beta_eff; for varying media also
// their group spread tau_eff and, centred, z), and each group's intercept as
// its level at the group's average effects (`level`), so intercepts do not
// trade off against coefficients and transform parameters. Priors stay on the
// stated parameters (alpha, alpha_g, beta, tau) with the Jacobians added.
//
// Crossed pooling: groups may also belong to levels of other columns (a geo x
// product series to its geo and its product). Effects that vary by such a
// column add one offset per level, non-centred and pooled across the column's
// levels with their own standard deviation; a group's coefficient is the
// population value plus its own deviation (if the term also varies by group)
// plus the offsets of its levels. The offsets of each effect sum to zero over
// its levels (the population value is the average level's): otherwise the
// population value and the offsets of two crossed columns trade along a ridge
// that only the priors bound, which NUTS crawls along at maximum tree depth.
// They are centred or not by their own rule (`cross_centred`): a level spans
// whole groups, so it often has data enough for the centred form when groups
// do not (centred sampled a 12-series test 14 times faster there).
//
// Variable selection (model.selection) acts on population coefficients of
// precision controls, as in blm.stan (functions/selection.stanfunctions):
// beta_x holds the other X coefficients, spike-and-slab samples its own
// (ss_beta), horseshoe and lasso integrate theirs out of the likelihood (0 in
// `coef`, drawn into `beta` in generated quantities). Selected controls do not
// vary by group (validate refuses it), so a control is in or out for every
// group; the noise scale in the horseshoe's tau0 and the lasso's scale is the
// root mean square of the groups' sigmas. With integrated-out coefficients a
// group's `level` is its mean fitted value without their part, so the group
// intercepts do not depend on them.
//
// GP trend (model.trend.type gp): a population trend, integrated out beside
// horseshoe's and lasso's coefficients as in blm.stan; its basis columns do not
// vary by group (validate refuses it). Time-varying media effects multiply a
// drifting channel's column of S as in blm.stan, one path for all groups.
functions {
  #include functions/transforms.stanfunctions
  #include functions/priors.stanfunctions
  #include functions/media.stanfunctions
  #include functions/calibration.stanfunctions
  #include functions/groups.stanfunctions
  #include functions/selection.stanfunctions
  #include functions/gp.stanfunctions
  #include functions/panel_likelihood.stanfunctions
}
data {
  int<lower=1> T; // rows of all groups, fitted and holdout
  int<lower=1> N; // rows in the fit
  array[N] int<lower=1, upper=T> fit_rows; // which rows are fitted
  vector[N] y; // response of the fitted rows, modelling scale
  int<lower=2> G; // groups
  array[T] int<lower=1, upper=G> group; // group of each row
  array[G] int<lower=1, upper=T> group_start; // first row of each group
  array[G] int<lower=1, upper=T> group_end; // last row of each group
  // threads per chain: above 1, reduce_sum splits the likelihood's groups
  // into this many slices (1: the same sum, in one piece)
  int<lower=1> threads;

  int<lower=0> M; // media channels
  int<lower=1> L; // longest adstock window (lags)
  array[M] matrix[T, L] X_lag; // scaled media at lags 0..L-1 (within each group)
  array[M] int<lower=0, upper=3> adstock_type; // registry code per channel
  array[M] int<lower=1, upper=L> l_max; // adstock window per channel
  array[M] int<lower=0, upper=5> saturation_type; // registry code per channel
  array[M] int<lower=1> theta_start; // first transform parameter of each channel

  int<lower=0> P; // transform parameters of all channels, stacked
  vector[P] theta_lower; // lower bound of each (its support)
  vector[P] theta_upper; // upper bound of each
  array[P] int<lower=1> theta_prior; // prior family code of each
  matrix[P, 3] theta_prior_args; // prior arguments, padded to 3
  int<lower=0, upper=1> group_transforms; // 1: each group its own transforms

  int<lower=0> K; // other columns: controls, CRE means, trend, seasonality
  matrix[T, K] X; // their values on the modelling scale
  vector[M + K] beta_lower; // hard bounds of the population coefficients
  vector[M + K] beta_upper;
  array[M + K] int<lower=1> beta_prior; // prior family code of each coefficient
  matrix[M + K, 3] beta_prior_args;

  int<lower=1> alpha_prior; // population intercept prior
  vector[3] alpha_prior_args;
  int<lower=1> sigma_prior; // prior of each group's noise scale
  vector[3] sigma_prior_args;

  int<lower=0, upper=1> varying_intercept; // 1: groups have their own baseline
  int<lower=0> V; // coefficients that vary by group
  array[V] int<lower=1, upper=M + K> varying; // which (indices into beta)
  int<lower=1> tau_prior; // prior of the group standard deviations of terms
  vector[3] tau_prior_args;
  int<lower=1> tau_intercept_prior; // prior of the group intercepts' standard deviation
  vector[3] tau_intercept_prior_args;
  // per varying coefficient: 1 centred group effects, 0 non-centred (a term whose
  // small group spread the data cannot pin down wants non-centred, others centred)
  array[V] int<lower=0, upper=1> centred;

  int<lower=0> F; // crossed columns (each group belongs to one level of each)
  array[F] int<lower=2> n_levels; // levels of each
  array[F, G] int<lower=1> level_of; // each group's level on each
  int<lower=0> C; // crossed effects: (column, term) pairs
  array[C] int<lower=1, upper=F> cross_factor; // the column of each
  array[C] int<lower=0, upper=M + K> cross_term; // 0: intercept, else index into beta
  int<lower=0, upper=1> cross_centred; // 1: centred level offsets, 0: non-centred

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

  // ROI and share priors on the population coefficient: a prior on
  // beta[m] * (roi_weight[r] * s_m) in place of beta[m]'s own, s_m the channel's
  // saturated media over every row (each group's transforms); roi_weight holds each
  // fitted row's KPI value per window spend (share: 1 per window KPI), times the KPI
  // sd (0 outside the window and in unfitted rows): the population ROI over all groups
  int<lower=0> n_roi;
  array[n_roi] int<lower=1, upper=M> roi_channel;
  matrix[n_roi, T] roi_weight;
  array[n_roi] int<lower=1> roi_prior;
  matrix[n_roi, 3] roi_prior_args;

  // variable selection (model.selection) of some X columns (precision controls)
  int<lower=0, upper=3> sel_prior; // 0: none, 1: horseshoe, 2: spike_slab, 3: lasso
  int<lower=0, upper=K> n_sel; // selected columns
  array[n_sel] int<lower=1, upper=K> sel_col; // which X columns
  vector<lower=0>[n_sel] sel_x_var; // their variance over the fitted rows
  real<lower=0> sel_tau0; // horseshoe: D0 / (D - D0) / sqrt(N); tau0 = sel_tau0 * noise
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
  matrix[T, m_tvp] tvp_basis; // every row; rows after the fit repeat the last fitted one
  vector<lower=0>[m_tvp] tvp_eigen;
  real<lower=0> tvp_half_range;
  array[n_tvp] int<lower=1> tvp_lengthscale_prior; // in periods
  matrix[n_tvp, 3] tvp_lengthscale_prior_args;
  array[n_tvp] int<lower=1> tvp_amplitude_prior; // sd of log effectiveness
  matrix[n_tvp, 3] tvp_amplitude_prior_args;

  int<lower=0, upper=1> prior_only; // 1: ignore the likelihood
  int<lower=0, upper=1> save_mu; // 1: also write the linear predictor
  int<lower=0, upper=1> use_jacobian; // 0 for MAP without Jacobians
}
transformed data {
  int J = M + K;
  int E = V + varying_intercept; // group-level effects per group
  int Gt = group_transforms ? G : 1; // sets of transform parameters
  array[J] int roi_on = rep_array(0, J); // 1: the channel's prior is on its ROI or share
  roi_on[roi_channel] = rep_array(1, n_roi);
  array[Gt] vector[P] theta_lo = rep_array(theta_lower, Gt);
  array[Gt] vector[P] theta_hi = rep_array(theta_upper, Gt);
  row_vector[T] fit_mean = rep_row_vector(0, T);
  fit_mean[fit_rows] = rep_row_vector(1.0 / N, N);
  matrix[G, T] group_mean = group_averages(G, group, fit_rows, T);
  // The likelihood group by group (functions/panel_likelihood.stanfunctions):
  // group g's fitted rows are fit_rows[fit_from[g] : fit_to[g]].
  row_vector[T] fit_weight = rep_row_vector(1, G) * group_mean; // 1 / n_g if fitted
  matrix[G, K] X_mean = group_mean * X; // each group's average X
  array[G] int fit_from = rep_array(N + 1, G);
  array[G] int fit_to = rep_array(0, G);
  row_vector[G] fit_share = rep_row_vector(0, G); // n_g / N
  for (n in 1 : N) {
    int g = group[fit_rows[n]];
    if (n > 1 && g < group[fit_rows[n - 1]]) {
      reject("fitted rows must be stacked by group; row ", fit_rows[n],
             " (group ", g, ") follows group ", group[fit_rows[n - 1]]);
    }
    fit_from[g] = min(fit_from[g], n);
    fit_to[g] = n;
    fit_share[g] += 1.0 / N;
  }
  array[G] int group_ids = linspaced_int_array(G, 1, G);
  int grainsize = (G + threads - 1) %/% threads; // groups per slice
  array[C] int level_start; // where each crossed effect's levels start, stacked
  int Z = 0; // levels of all crossed effects
  for (c in 1 : C) {
    level_start[c] = Z + 1;
    Z += n_levels[cross_factor[c]];
  }
  int hs = sel_prior == 1; // which selection prior's parameters exist
  int ss = sel_prior == 2;
  int la = sel_prior == 3;
  int collapse = hs || la; // the selected coefficients are integrated out
  int gp = n_gp > 0; // a GP trend's hyperparameters exist
  // the integrated-out X columns: the selected ones (horseshoe, lasso), then the GP basis
  int n_int = collapse * n_sel + n_gp;
  array[n_int] int int_col = append_array(head(sel_col, collapse * n_sel), gp_col);
  array[n_int] int int_idx; // their indices in beta
  matrix[N, n_int] X_int = X[fit_rows, int_col]; // their fitted rows
  array[G] matrix[n_int, n_int] XtX_int; // their cross-products in each group
  for (g in 1 : G) {
    XtX_int[g] = rep_matrix(0, n_int, n_int);
  }
  for (n in 1 : N) {
    XtX_int[group[fit_rows[n]]] += X_int[n]' * X_int[n];
  }
  array[n_sel] int sel_idx; // the selected coefficients' indices in beta
  // 1: under the selection or GP prior, not the coefficient's own
  array[J] int shrunk = rep_array(0, J);
  array[K - n_sel - n_gp] int free_col; // X columns with their own priors
  vector[n_sel] sel_lower; // sign bounds of the selected (0 or infinite)
  vector[n_sel] sel_upper;
  {
    array[K] int is_shrunk = rep_array(0, K);
    is_shrunk[sel_col] = rep_array(1, n_sel);
    is_shrunk[gp_col] = rep_array(1, n_gp);
    int f = 1;
    for (k in 1 : K) {
      shrunk[M + k] = is_shrunk[k];
      if (!is_shrunk[k]) {
        free_col[f] = k;
        f += 1;
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
  array[Z - C] int z_effect; // the crossed effect of each free coordinate
  {
    int at = 1;
    for (c in 1 : C) {
      for (l in 1 : (n_levels[cross_factor[c]] - 1)) {
        z_effect[at] = c;
        at += 1;
      }
    }
  }
}
parameters {
  real alpha_c; // population intercept at the average media effects
  array[Gt] vector<lower=theta_lo, upper=theta_hi>[P] theta;
  vector<lower=scale_finite(beta_lower[1 : M],
                            typical_saturation(adstock_type, saturation_type,
                                               theta_start, theta[1])),
         upper=scale_finite(beta_upper[1 : M],
                            typical_saturation(adstock_type, saturation_type,
                                               theta_start, theta[1]))>[M] beta_eff;
  vector<lower=tail(beta_lower, K)[free_col],
         upper=tail(beta_upper, K)[free_col]>[K - n_sel - n_gp] beta_x; // X coefficients with own priors
  vector<lower=0>[varying_intercept] tau_level; // sd of the group intercepts
  vector[varying_intercept ? G : 0] level; // each group's mean fitted value
  vector<lower=0>[V] tau_eff; // group sds of varying terms (media: typical level)
  matrix[G, V] z; // group effects: standardised (non-centred) or raw (centred)
  vector<lower=0>[G] sigma; // noise scale of each group
  vector<lower=0>[C] tau_cross_eff; // sds of crossed effects (media: typical level)
  // free coordinates of the zero-sum level offsets: standardised (non-centred)
  // or on the sampling scale (centred)
  vector[Z - C] z_cross;
  // selection: spike_slab's coefficients (horseshoe and lasso integrate them out)
  vector<lower=head(sel_lower, ss ? n_sel : 0),
         upper=head(sel_upper, ss ? n_sel : 0)>[ss ? n_sel : 0] ss_beta;
  vector<lower=0>[hs ? n_sel : 0] hs_lambda; // horseshoe local scales
  vector<lower=0>[hs] hs_tau_unit; // horseshoe global scale / (tau0 * noise)
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
  vector[M] typical = typical_saturation(adstock_type, saturation_type,
                                         theta_start, theta[1]);
  // the prior scale of each selected coefficient (spike_slab: 1); the groups'
  // noise enters as one scale, their root mean square
  vector[n_sel] sel_scale = selection_scales(sel_prior,
                                             sqrt(mean(square(sigma))),
                                             sel_tau0, sel_slab_scale,
                                             hs_lambda, hs_tau_unit, hs_caux,
                                             lasso_e, lasso_lambda2, n_sel);
  // the prior scale of each integrated-out coefficient
  vector[n_int] int_scale;
  int_scale[1 : (collapse * n_sel)] = head(sel_scale, collapse * n_sel);
  if (gp) {
    int_scale[(collapse * n_sel + 1) : n_int] = gp_scales(gp_eigen,
                                                          gp_amplitude[1] * gp_unit,
                                                          gp_lengthscale[1] / gp_half_range,
                                                          gp_x_sd);
  }
  // Population coefficients: media at full saturation, then the X columns
  // (those integrated out are 0 here; generated quantities draw them into
  // `beta`).
  vector[J] coef;
  {
    vector[K] x_coef;
    x_coef[free_col] = beta_x;
    x_coef[sel_col] = rep_vector(0, n_sel);
    x_coef[gp_col] = rep_vector(0, n_gp);
    if (ss) {
      x_coef[sel_col] = ss_beta;
    }
    coef = append_row(beta_eff ./ typical, x_coef);
  }
  // group sds on the stated scale: intercept, varying terms, crossed effects
  vector[E + C] tau;
  {
    vector[V] tau_terms = tau_eff;
    for (v in 1 : V) {
      if (varying[v] <= M) {
        tau_terms[v] = tau_eff[v] / typical[varying[v]];
      }
    }
    vector[C] tau_cross = tau_cross_eff;
    for (c in 1 : C) {
      if (cross_term[c] >= 1 && cross_term[c] <= M) {
        tau_cross[c] = tau_cross_eff[c] / typical[cross_term[c]];
      }
    }
    tau = append_row(append_row(tau_level, tau_terms), tau_cross);
  }
  // what multiplies the zero-sum offsets: tau_cross_eff when non-centred
  vector[C] cross_scale = cross_centred ? rep_vector(1, C) : tau_cross_eff;
}
model {
  matrix[T, M] S = panel_media_effects(T, L, X_lag, adstock_type, l_max,
                                       saturation_type, theta_start, theta,
                                       group_start, group_end);
  // each drifting channel's effectiveness multiplier per row (1 on average)
  matrix[T, n_tvp] drift = tvp_multipliers(tvp_basis, tvp_eigen, tvp_z,
                                           tvp_amplitude, tvp_lengthscale,
                                           tvp_half_range, fit_mean);
  S[ : , tvp_channel] = S[ : , tvp_channel] .* drift;
  // each group's average media effects over its fitted rows (the likelihood
  // works out the rows' means group by group)
  matrix[G, M] S_mean = group_column_means(S, fit_weight, group_start,
                                           group_end);
  real alpha = alpha_c - fit_share * (S_mean * coef[1 : M]);
  matrix[G, 1 + J] O = crossed_offsets(G, J, cross_scale,
                                       crossed_levels(z_cross, cross_factor,
                                                      n_levels, level_start),
                                       cross_factor, cross_term, level_of,
                                       level_start, typical);
  matrix[G, J] B = group_coefficients(coef, tau_eff, z, varying, typical,
                                      centred)
                   + O[ : , 2 : (1 + J)];
  vector[G] effect_mean = rows_dot_product(append_col(S_mean, X_mean), B);
  vector[G] alpha_g = varying_intercept ? level - effect_mean
                                        : alpha + O[ : , 1];
  alpha ~ prior(alpha_prior, alpha_prior_args);
  for (g in 1 : G) {
    sigma[g] ~ prior(sigma_prior, sigma_prior_args);
  }
  for (j in 1 : J) {
    if (!shrunk[j] && !roi_on[j]) {
      coef[j] ~ prior(beta_prior[j], beta_prior_args[j]');
    }
  }
  for (r in 1 : n_roi) {
    // as in blm.stan: roi = beta * c with c > 0 given theta; the prior is stated
    // on roi and log c makes it beta's density, so roi has the stated prior and
    // theta keeps its own (without log c, theta's would be tilted by 1 / c)
    real c = roi_weight[r] * S[ : , roi_channel[r]];
    coef[roi_channel[r]] * c ~ prior(roi_prior[r], roi_prior_args[r]');
    target += log(c);
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
  for (t in 1 : size(theta)) {
    for (p in 1 : P) {
      theta[t][p] ~ prior(theta_prior[p], theta_prior_args[p]');
    }
  }
  if (varying_intercept) {
    tau_level[1] ~ prior(tau_intercept_prior, tau_intercept_prior_args);
    alpha_g ~ normal(alpha + O[ : , 1], tau_level[1]);
  }
  for (c in 1 : C) {
    tau[E + c] ~ prior(cross_term[c] == 0 ? tau_intercept_prior : tau_prior,
                       cross_term[c] == 0 ? tau_intercept_prior_args
                                          : tau_prior_args);
  }
  if (cross_centred) {
    z_cross ~ normal(0, tau_cross_eff[z_effect]);
  } else {
    z_cross ~ std_normal();
  }
  for (v in 1 : V) {
    int j = varying[v];
    tau[v + varying_intercept] ~ prior(tau_prior, tau_prior_args);
    if (centred[v]) {
      z[ : , v] ~ normal(j <= M ? beta_eff[j] : coef[j], tau_eff[v]);
    } else {
      z[ : , v] ~ std_normal();
    }
  }
  if (use_jacobian) {
    // beta_eff -> beta and tau_eff -> tau divide by the typical saturation;
    // level -> alpha_g is a shift, with unit Jacobian.
    target += -sum(log(typical));
    for (v in 1 : V) {
      if (varying[v] <= M) {
        target += -log(typical[varying[v]]);
      }
    }
    for (c in 1 : C) {
      if (cross_term[c] >= 1 && cross_term[c] <= M) {
        target += -log(typical[cross_term[c]]);
      }
    }
  }
  if (!prior_only) {
    if (n_int > 0) {
      vector[N] mu = fitted_means(fit_rows, fit_from, fit_to, S, X, B,
                                  alpha_g);
      vector[G] precision = inv_square(sigma);
      target += collapsed_normal_lpdf(y - mu | X_int,
                                      group_crossprod(XtX_int, precision),
                                      precision[group[fit_rows]], int_scale);
    } else if (threads > 1) {
      target += reduce_sum_static(group_log_lik_lupmf, group_ids, grainsize,
                                  y, fit_rows, fit_from, fit_to, S, X, B,
                                  alpha_g, sigma);
    } else {
      target += group_log_lik_lupmf(group_ids | 1, G, y, fit_rows, fit_from,
                                    fit_to, S, X, B, alpha_g, sigma);
    }
    if (n_tests > 0) {
      test_lift ~ normal(test_lifts(B[ : , 1 : M], theta, test_channel, test_group,
                                    test_from, test_len, test_lag_with,
                                    test_lag_without, adstock_type, l_max,
                                    saturation_type, theta_start),
                         test_se);
    }
  }
}
generated quantities {
  // population coefficients: media at full saturation, then the X columns
  // (with the integrated-out ones drawn from their conditional)
  vector[J] beta = coef;
  real alpha; // population intercept
  vector[G] alpha_g; // each group's intercept
  matrix[G, J] beta_g; // each group's coefficients
  vector[N] log_lik; // pointwise log likelihood of the fitted rows
  array[T] real y_rep; // posterior predictive draws, every row
  vector[save_mu ? T : 0] mu_out; // the linear predictor, when asked for
  // each drifting channel's multiplier per row, with the linear predictor
  matrix[save_mu ? T : 0, n_tvp] tvp_multiplier;
  vector[n_tests] lift_pred; // each lift test's lift as the model predicts it
  // each crossed effect's value at each level, modelling scale: the
  // intercept's offset, or the population coefficient plus the offset
  vector[Z] cross_level;
  // each selected coefficient's inclusion in this draw (see selection_inclusion)
  vector[n_sel] sel_inclusion;
  {
    matrix[T, M] S = panel_media_effects(T, L, X_lag, adstock_type, l_max,
                                         saturation_type, theta_start, theta,
                                         group_start, group_end);
    matrix[T, n_tvp] drift = tvp_multipliers(tvp_basis, tvp_eigen, tvp_z,
                                             tvp_amplitude, tvp_lengthscale,
                                             tvp_half_range, fit_mean);
    S[ : , tvp_channel] = S[ : , tvp_channel] .* drift;
    if (save_mu) {
      tvp_multiplier = drift;
    }
    alpha = alpha_c - fit_mean * (S * beta[1 : M]);
    vector[Z] u = crossed_levels(z_cross, cross_factor, n_levels, level_start);
    matrix[G, 1 + J] O = crossed_offsets(G, J, cross_scale, u, cross_factor,
                                         cross_term, level_of, level_start,
                                         typical);
    beta_g = group_coefficients(coef, tau_eff, z, varying, typical, centred)
             + O[ : , 2 : (1 + J)];
    // as in the model: the group intercepts leave out integrated-out coefficients
    vector[T] effects = rows_dot_product(append_col(S, X), beta_g[group]);
    alpha_g = varying_intercept ? level - group_mean * effects
                                : alpha + O[ : , 1];
    vector[T] mu = alpha_g[group] + effects;
    if (n_int > 0) {
      // without the likelihood the conditional is the prior; MAP (no Jacobian)
      // takes the conditional mean, a point for a point estimate
      vector[G] precision = inv_square(sigma);
      beta[int_idx] = prior_only
                      ? to_vector(normal_rng(rep_vector(0, n_int), int_scale))
                      : collapsed_coefficients_rng(y - mu[fit_rows], X_int,
                                                   group_crossprod(XtX_int,
                                                                   precision),
                                                   precision[group[fit_rows]],
                                                   int_scale, !use_jacobian);
      // selected controls and the GP trend neither vary by group nor cross:
      // one value for all
      beta_g[ : , int_idx] = rep_matrix(beta[int_idx]', G);
      mu += X[ : , int_col] * beta[int_idx];
    }
    sel_inclusion = selection_inclusion(sel_prior, beta[sel_idx], sel_scale,
                                        sqrt(mean(square(sigma))), sel_x_var,
                                        N, ss_rate, sel_spike_scale,
                                        sel_slab_scale, sel_threshold);
    for (c in 1 : C) {
      int j = cross_term[c];
      for (l in 1 : n_levels[cross_factor[c]]) {
        int at = level_start[c] + l - 1;
        real scale = (j >= 1 && j <= M) ? typical[j] : 1;
        cross_level[at] = (j == 0 ? 0 : beta[j]) + cross_scale[c] * u[at] / scale;
      }
    }
    for (n in 1 : N) {
      log_lik[n] = normal_lpdf(y[n] | mu[fit_rows[n]], sigma[group[fit_rows[n]]]);
    }
    y_rep = normal_rng(mu, sigma[group]);
    if (save_mu) {
      mu_out = mu;
    }
    lift_pred = test_lifts(beta_g[ : , 1 : M], theta, test_channel, test_group,
                           test_from, test_len, test_lag_with, test_lag_without,
                           adstock_type, l_max, saturation_type, theta_start);
  }
}
