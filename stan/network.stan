// The network model (classes nested, multivariate and combined): media act on
// mediators (e.g. brand awareness) and on K outcomes (e.g. sales of products),
// mediators act on outcomes (gamma) and outcomes on each other (psi). Which
// equations, paths, transforms, priors and bounds there are arrive as data,
// so one compiled program serves all three classes. One series, no groups;
// rows in fit_rows are fitted, the others (holdout) are predicted only.
//
// Equations: mediators d = 1..D, then outcomes k (equation D + k).
// * Mediator d: structural mean m_dt = alpha_d + sum of its media paths
//   beta * f_q(x) + its X terms; its true value M_dt = m_dt + sigma_d eta_dt.
//   Observed rows see M_obs = M + noise: exact for a fully observed mediator
//   (type 1), with sd nu_d (a parameter) for a partially observed one (type
//   2); a latent mediator (type 3) is never observed.
// * Outcome k: y_kt = alpha_k + its media paths + its X terms
//   + sum_d gamma_dk M_dt + sum of psi_c * cross_x[t, c] over the
//   cross-effects c into k + error; the errors of a row are independent
//   (sd sigma_k) or, when correlated, multivariate normal with covariance
//   diag(sigma) R diag(sigma), R ~ LKJ(lkj_eta) through its Cholesky factor.
//
// The true mediator values M are not sampled: they are integrated out
// exactly, which removes T x D parameters and the funnels between them and
// sigma_d. Given a row's observation, M_d is normal with mean
// E[M | obs] = m + k (M_obs - m) and variance v = (1 - k) sigma_d^2, where
// k = sigma_d^2 / (sigma_d^2 + nu_d^2) (k = 1 exact, k = 0 unobserved). So a
// row's density is the product of
// * each observed mediator's M_obs ~ N(m, sqrt(sigma_d^2 + nu_d^2)), and
// * the outcomes given those observations: normal with means using
//   gamma * E[M | obs] and covariance Sigma + sum_d v_dt g_d g_d' (g_d: the
//   gammas of mediator d over outcomes), since gamma * (M - E[M | obs]) is
//   extra zero-mean noise shared by the outcomes.
// This is the exact joint density of mediator observations and outcomes.
// Rows with the same observation states share one covariance; it is
// factored once per such pattern (once in all when every mediator is
// observed exactly or there is none; with one outcome it is a variance).
//
// Cross-effects: cross_x[t, c] is the source outcome's observed value at the
// lag, uncentred (Y + y_offset: the outcome over its sd), times an optional
// modulator (e.g. a promotion flag; a modulated effect exists only where the
// flag is on, so the source must not be centred); 0 in the first lag rows,
// which have no earlier value. For lagged effects this is the usual
// conditional likelihood. For
// contemporaneous ones (lag 0) the outcomes of a row are
// y = Psi0 y + rest, whose joint density carries |det(I - Psi0)|; the config
// validation refuses cycles among contemporaneous effects, so Psi0 can be
// ordered strictly triangular, det(I - Psi0) = 1 and the density above is
// the exact joint one. Held-out rows are forecasts: there the predictive
// draws (and mu_out) take a source's value from the draws of earlier
// held-out rows, never from the data, in the outcome order given.
//
// Parameterised for NUTS like stan/blm.stan, with priors on the stated
// parameters (alpha, beta) and the Jacobian added:
// * each media path's coefficient is sampled as its effect at the typical
//   level of its feature set, beta_eff = beta * f_q(1); transform parameters
//   (theta) belong to feature sets and are shared by every path using a set;
// * each equation's intercept is sampled as alpha_c, its average over the
//   fitted rows of everything but the X terms (media paths, for outcomes
//   also gamma * E[M | obs] and the cross-effects); alpha = alpha_c minus
//   those averages, a shift with unit Jacobian;
// * a latent mediator's noise sd is sampled as a share of the variance of an
//   outcome it moves with a signed effect, that outcome's sd as its total with
//   the latent noise included (equation_noise): the data see only the total,
//   and sampling the two sds themselves left a curved ridge between them
//   (divergent transitions);
// * a surveyed mediator's noise sd and its survey's are sampled as their
//   total (the survey's sd, which the survey pins down) and the mediator's
//   share of its variance (survey_noise);
// * a channel's direct path paired with its path into a mediator observed in
//   part or never is sampled as their total (direct + gamma * mediated) and
//   the log ratio of the two paths (pair_effects): the data see the total, and
//   a direct path sampled in logs stretched towards 0 along that ridge; with a
//   loose gamma, as the total and the mediated path (which a survey, or a
//   latent mediator's prior, pins), and the gamma as a share of its wall, the
//   largest value that leaves its pairs' direct paths positive.
functions {
  #include functions/transforms.stanfunctions
  #include functions/priors.stanfunctions
  #include functions/media.stanfunctions
  #include functions/network.stanfunctions
}
data {
  int<lower=1> T; // rows, fitted and holdout
  int<lower=1> N; // fitted rows
  array[N] int<lower=1, upper=T> fit_rows;
  // equations: D mediators first, then K outcomes; E = D + K
  int<lower=0> D;
  int<lower=1> K;
  matrix[T, K] Y; // outcomes on the modelling scale (standardised)
  matrix[T, D] med_value; // mediator observations, modelling scale (0 where not observed)
  array[T, D] int<lower=0, upper=1> med_observed; // 1 where observed
  array[D] int<lower=1, upper=3> med_type; // 1 fully observed, 2 partially observed, 3 latent

  // media: M channels as lag matrices; Q feature sets (a channel may have
  // several, e.g. its own adstock for a mediator), each one column f_q(x)
  int<lower=0> M;
  int<lower=1> L;
  array[M] matrix[T, L] X_lag;
  int<lower=0> Q;
  array[Q] int<lower=1, upper=M> set_channel;
  array[Q] int<lower=0, upper=3> adstock_type;
  array[Q] int<lower=1, upper=L> l_max;
  array[Q] int<lower=0, upper=5> saturation_type;
  array[Q] int<lower=1> theta_start;
  int<lower=0> P;
  vector[P] theta_lower;
  vector[P] theta_upper;
  array[P] int<lower=1> theta_prior;
  matrix[P, 3] theta_prior_args;

  // media paths: coefficient b belongs to equation path_eq[b], uses set path_set[b]
  int<lower=0> B;
  array[B] int<lower=1> path_eq;
  array[B] int<lower=1> path_set;
  vector[B] beta_lower;
  vector[B] beta_upper;
  array[B] int<lower=1> beta_prior;
  matrix[B, 3] beta_prior_args;

  // other columns (controls, trend, seasonality): coefficients per (equation, column)
  int<lower=0> KX;
  matrix[T, KX] X;
  int<lower=0> BX;
  array[BX] int<lower=1> xcoef_eq;
  array[BX] int<lower=1> xcoef_col;
  vector[BX] xcoef_lower;
  vector[BX] xcoef_upper;
  array[BX] int<lower=1> xcoef_prior;
  matrix[BX, 3] xcoef_prior_args;

  // per equation intercept and noise-scale priors
  array[D + K] int<lower=1> alpha_prior;
  matrix[D + K, 3] alpha_prior_args;
  array[D + K] int<lower=1> sigma_prior;
  matrix[D + K, 3] sigma_prior_args;

  // mediator -> outcome effects gamma
  int<lower=0> G;
  array[G] int<lower=1> gamma_from; // mediator 1..D
  array[G] int<lower=1> gamma_to; // outcome 1..K
  vector[G] gamma_lower;
  vector[G] gamma_upper;
  array[G] int<lower=1> gamma_prior;
  matrix[G, 3] gamma_prior_args;
  // 1: its prior pins it (its pairs are sampled by log ratios); 0: loose (sampled as
  // a share of its wall when it has pairs; see pair_effects)
  array[G] int<lower=0, upper=1> gamma_pinned;

  // prior of the observation noise sd of each mediator (used by the partially observed)
  array[D] int<lower=1> nu_prior;
  matrix[D, 3] nu_prior_args;

  // cross-effects between outcomes: c adds psi[c] * cross_x[, c] to outcome cross_to[c]
  int<lower=0> C;
  array[C] int<lower=1> cross_to;
  array[C] int<lower=1> cross_from;
  array[C] int<lower=0> cross_lag; // 0: contemporaneous (see the header)
  matrix[T, C] cross_mod; // modulator of each row (ones when there is none)
  vector[K] y_offset; // each outcome's mean over its sd: Y + y_offset is uncentred
  array[K] int<lower=1, upper=K> outcome_order; // contemporaneous sources first
  vector[C] psi_lower;
  vector[C] psi_upper;
  array[C] int<lower=1> psi_prior;
  matrix[C, 3] psi_prior_args;

  // lift tests (calibration): a test changed channel test_channel's spend; lifts on
  // the modelling scale of what it measured (an outcome, or the KPI: a weighted total)
  int<lower=0> n_tests;
  array[n_tests] int<lower=1, upper=M> test_channel;
  array[n_tests] int<lower=1> test_from; // its first row in the stacked lag matrices
  array[n_tests] int<lower=1> test_len; // its measured periods
  array[n_tests] int<lower=1, upper=T> test_first_row; // its first measured row
  int<lower=0> n_test_rows;
  matrix[n_test_rows, L] test_lag_with; // the channel's scaled lags with the change
  matrix[n_test_rows, L] test_lag_without; // and as it ran
  matrix[n_tests, K] test_weight; // a unit of each outcome in the measured quantity's sds
  vector[n_tests] test_lift;
  vector<lower=0>[n_tests] test_se;

  int<lower=0, upper=1> correlated; // 1: correlated outcome errors (K > 1)
  real<lower=0> lkj_eta;
  int<lower=0, upper=1> prior_only; // 1: ignore the likelihood
  int<lower=0, upper=1> save_mu; // 1: also write the structural means
  int<lower=0, upper=1> use_jacobian; // 0 for MAP without Jacobians
}
transformed data {
  int E = D + K;
  int use_corr = correlated && K > 1;
  array[Q] matrix[T, L] X_set = X_lag[set_channel]; // each set's channel
  row_vector[T] fit_mean = rep_row_vector(0, T);
  fit_mean[fit_rows] = rep_row_vector(1.0 / N, N);
  array[T] int is_fit = rep_array(0, T);
  is_fit[fit_rows] = rep_array(1, N);
  matrix[T, C] cross_x = cross_values(Y, y_offset, cross_from, cross_lag, cross_mod);
  // An outcome's intercept prior is stated where its sources sit on average: alpha plus
  // psi times each cross-effect's fitted-rows average regressor (not at source = 0,
  // which would tie the intercept's prior to psi through the sources' levels).
  row_vector[C] cross_avg = fit_mean * cross_x;
  // the columns that are data, as network_means takes them: a column of ones
  // (the intercepts), then X, then cross_x
  matrix[T, 1 + KX + C] Z = append_col(append_col(rep_vector(1, T), X), cross_x);

  // Observation states and the patterns of rows sharing them.
  array[T, D] int state = mediator_states(med_type, med_observed);
  // Every fitted row sees every mediator exactly: the model block's means take
  // their centred values as data columns (network_means).
  int exact_fit = 1;
  for (n in 1 : N) {
    for (d in 1 : D) {
      exact_fit *= state[fit_rows[n], d] == 0;
    }
  }
  matrix[T, cols(Z) + (exact_fit ? D : 0)] Z_model;
  if (exact_fit) {
    Z_model = append_col(Z, med_value - rep_matrix(fit_mean * med_value, T));
  } else {
    Z_model = Z;
  }
  // the rows that observe each mediator, mediator after mediator, and the values
  array[D] int seen_len = seen_counts(state, D);
  array[sum(seen_len)] int seen_t = seen_rows(state, D);
  vector[sum(seen_len)] seen_val;
  {
    int i = 1;
    for (d in 1 : D) {
      for (j in 1 : seen_len[d]) {
        seen_val[i] = med_value[seen_t[i], d];
        i += 1;
      }
    }
  }
  array[T] int pattern = row_patterns(state);
  int n_pat = max(pattern);
  array[n_pat, D] int pat_state = pattern_states(pattern, state, D);
  array[n_pat] int pat_exact; // 1: no mediator uncertainty in the pattern's rows
  for (p in 1 : n_pat) {
    pat_exact[p] = 1;
    for (d in 1 : D) {
      pat_exact[p] *= pat_state[p, d] == 0;
    }
  }
  array[N] int fit_order = order_by_pattern(pattern, fit_rows); // positions n
  array[n_pat] int pat_len = pattern_counts(pattern, fit_rows);
  array[n_pat] int pat_from;
  for (p in 1 : n_pat) {
    pat_from[p] = p == 1 ? 1 : pat_from[p - 1] + pat_len[p - 1];
  }

  // Observed mediator values of the fitted rows, in long form.
  int D2 = 0; // partially observed mediators (each has a nu)
  for (d in 1 : D) {
    D2 += med_type[d] == 2;
  }
  array[D2] int partial = which(med_type, 2); // which mediator each nu belongs to
  int n_obs = count_observed(state, fit_rows, D);
  array[n_obs, 2] int cells = observed_cells(state, fit_rows, D);
  array[n_obs] int obs_n = cells[ : , 1]; // fitted position
  array[n_obs] int obs_d = cells[ : , 2]; // mediator
  array[n_obs] int obs_lin; // index into to_vector of a T x E matrix
  vector[n_obs] obs_val;
  for (i in 1 : n_obs) {
    obs_lin[i] = (obs_d[i] - 1) * T + fit_rows[obs_n[i]];
    obs_val[i] = med_value[fit_rows[obs_n[i]], obs_d[i]];
  }
  // Latent mediators whose effect on some outcome has a sign (a bound at 0): the
  // noise of each is sampled as a share of the first such outcome's variance (see
  // equation_noise; sigma_d = tau / |gamma| needs a gamma that never crosses 0).
  // The other equations' sds, and a latent mediator with no signed effect, are
  // sampled as they are.
  array[D] int share_gamma = rep_array(0, D);
  for (i in 1 : G) {
    int g = G + 1 - i; // backwards: the first qualifying gamma wins
    int d = gamma_from[g];
    if (med_type[d] == 3 && (gamma_lower[g] >= 0 || gamma_upper[g] <= 0)) {
      share_gamma[d] = g;
    }
  }
  int n_lat = 0;
  for (d in 1 : D) {
    n_lat += share_gamma[d] > 0;
  }
  array[n_lat] int lat_med;
  array[n_lat] int lat_gamma; // its signed gamma into its outcome
  array[n_lat] int lat_eq; // that outcome's equation
  array[E - n_lat] int free_eq;
  {
    int i = 1;
    int j = 1;
    for (e in 1 : E) {
      if (e <= D && share_gamma[e] > 0) {
        lat_med[i] = e;
        lat_gamma[i] = share_gamma[e];
        lat_eq[i] = D + gamma_to[share_gamma[e]];
        i += 1;
      } else {
        free_eq[j] = e;
        j += 1;
      }
    }
  }
  // A channel's direct path into an outcome paired with its path into a mediator
  // observed in part or never that moves that outcome with a gamma bounded at 0,
  // both positive and through the same feature set: the data pin down their sum,
  // direct + gamma * mediated, far better than each, and sampled apart in logs a
  // direct path stretches towards 0 along that ridge. Such a pair is sampled as its
  // total and the log ratio of its paths (see pair_effects); when its gamma's
  // prior is loose (a survey pins the mediated path, not gamma), as its total and
  // its mediated path, the gamma as a share of its wall.
  array[B] int pair_with = rep_array(0, B); // a mediated path's direct partner
  array[B] int pair_gamma = rep_array(0, B);
  for (b in 1 : B) {
    int d = path_eq[b];
    if (d <= D && med_type[d] >= 2 && beta_lower[b] == 0 && is_inf(beta_upper[b])) {
      for (g in 1 : G) {
        if (pair_with[b] == 0 && gamma_from[g] == d && gamma_lower[g] == 0) {
          for (c in 1 : B) {
            if (pair_with[b] == 0 && path_eq[c] == D + gamma_to[g]
                && path_set[c] == path_set[b] && beta_lower[c] == 0
                && is_inf(beta_upper[c]) && !paired(pair_with, c)) {
              pair_with[b] = c;
              pair_gamma[b] = g;
            }
          }
        }
      }
    }
  }
  int n_pair = 0;
  for (b in 1 : B) {
    n_pair += pair_with[b] > 0;
  }
  array[n_pair] int pair_direct;
  array[n_pair] int pair_med;
  array[n_pair] int pair_g; // the gamma from the mediator into that outcome
  array[B - 2 * n_pair] int solo; // every other path
  {
    int i = 1;
    int j = 1;
    for (b in 1 : B) {
      if (pair_with[b] > 0) {
        pair_direct[i] = pair_with[b];
        pair_med[i] = b;
        pair_g[i] = pair_gamma[b];
        i += 1;
      } else if (!paired(pair_with, b)) {
        solo[j] = b;
        j += 1;
      }
    }
  }
  // The loose gammas with pairs (walled: sampled as shares of their walls, the
  // largest values that leave their pairs' direct paths positive; see
  // pair_effects) and the others; their pairs (wpair) and the others (rpair).
  array[G] int walled = rep_array(0, G);
  for (p in 1 : n_pair) {
    walled[pair_g[p]] = !gamma_pinned[pair_g[p]];
  }
  array[n_pair] int pair_walled = walled[pair_g];
  int n_wall = sum(walled);
  int n_wpair = sum(pair_walled);
  array[n_wall] int wall_g = which(walled, 1);
  array[G - n_wall] int free_g = which(walled, 0);
  array[n_wpair] int wpair = which(pair_walled, 1);
  array[n_pair - n_wpair] int rpair = which(pair_walled, 0);
  array[G] int wall_slot = rep_array(0, G); // a walled gamma's place in wall_g
  for (i in 1 : n_wall) {
    wall_slot[wall_g[i]] = i;
  }
  array[n_wpair] int wpair_wall = wall_slot[pair_g[wpair]];
  for (b in 1 : B) {
    if (path_eq[b] > E || path_set[b] > Q) {
      reject("path ", b, " names an equation or feature set that does not exist");
    }
  }
  for (j in 1 : BX) {
    if (xcoef_eq[j] > E || xcoef_col[j] > KX) {
      reject("X coefficient ", j, " names an equation or column that does not exist");
    }
  }
  for (g in 1 : G) {
    if (gamma_from[g] > D || gamma_to[g] > K) {
      reject("gamma ", g, " names a mediator or outcome that does not exist");
    }
  }
  for (c in 1 : C) {
    if (cross_to[c] > K || cross_from[c] > K) {
      reject("cross-effect ", c, " names an outcome that does not exist");
    }
  }
}
parameters {
  vector[E] alpha_c; // intercepts at the fitted rows' average non-X terms
  vector<lower=theta_lower, upper=theta_upper>[P] theta; // transform parameters
  // media paths at their sets' typical level (beta_eff = beta * f_q(1)), but the
  // pairs: their totals (direct + gamma * mediated), and log(direct / mediated)
  // or, with a walled gamma, log mediated
  vector<lower=scale_finite(beta_lower[solo],
                            typical_saturation(adstock_type, saturation_type,
                                               theta_start, theta)[path_set[solo]]),
         upper=scale_finite(beta_upper[solo],
                            typical_saturation(adstock_type, saturation_type,
                                               theta_start, theta)[path_set[solo]])>[B - 2 * n_pair] beta_eff;
  vector<lower=0>[n_pair] pair_total;
  vector[n_pair - n_wpair] pair_ratio_log;
  vector[n_wpair] pair_med_log;
  vector<lower=xcoef_lower, upper=xcoef_upper>[BX] xcoef; // X coefficients
  // noise sd of each equation but latent mediators; an outcome fed by latent
  // mediators: its sd with their noise included (see equation_noise)
  vector<lower=0>[E - n_lat] sigma_free;
  vector[n_lat] lat_share_logit; // of what is left of that variance
  // mediator -> outcome effects: those without pairs, and the others' shares of
  // their walls (logits; see pair_effects)
  vector<lower=gamma_lower[free_g],
         upper=gamma_upper[free_g]>[G - n_wall] gamma_free;
  vector[n_wall] gamma_wall_logit;
  // a surveyed mediator's share of its survey's variance (logit): its sigma_free
  // entry is the survey's total sd (see survey_noise)
  vector[D2] survey_share_logit;
  vector<lower=psi_lower, upper=psi_upper>[C] psi; // cross-effects
  array[use_corr] cholesky_factor_corr[K] L_R; // outcome error correlation
}
transformed parameters {
  // Media path coefficients on the stated scale (effect at full saturation).
  vector[G] gamma;
  vector[B] beta;
  {
    vector[n_wall] wall = gamma_walls(pair_total[wpair], exp(pair_med_log),
                                      gamma_upper[wall_g], wpair_wall);
    gamma[free_g] = gamma_free;
    gamma[wall_g] = wall .* inv_logit(gamma_wall_logit);
    beta = pair_effects(beta_eff, pair_total, pair_ratio_log, pair_med_log,
                        gamma, wall, gamma_wall_logit, solo, pair_direct,
                        pair_med, pair_g, rpair, wpair, wpair_wall)
           ./ typical_saturation(adstock_type, saturation_type, theta_start,
                                 theta)[path_set];
  }
  vector<lower=0>[E] sigma; // noise sd of each equation
  vector<lower=0>[D2] nu; // observation noise sd of each survey
  {
    tuple(vector[E], vector[D2]) sds
      = survey_noise(equation_noise(sigma_free, lat_share_logit, free_eq,
                                    lat_med, lat_eq, lat_gamma, gamma, E).1,
                     survey_share_logit, partial);
    sigma = sds.1;
    nu = sds.2;
  }
}
model {
  matrix[T, Q] F = media_effects(T, L, X_set, adstock_type, l_max,
                                 saturation_type, theta_start, theta);
  vector[D] nu_med = mediator_noise(med_type, nu);
  matrix[D, K] Gam = gamma_matrix(D, K, gamma_from, gamma_to, gamma);
  tuple(vector[E], matrix[T, E], matrix[T, exact_fit ? 0 : D]) means
    = network_means(F, Z_model, cross_avg, med_value, seen_t, seen_len,
                    seen_val, fit_mean, D, K, path_eq, path_set, beta,
                    xcoef_eq, xcoef_col, xcoef, cross_to, psi, Gam, alpha_c,
                    sigma, nu_med, exact_fit);
  {
    vector[E] alpha_stated = means.1;
    for (c in 1 : C) {
      alpha_stated[D + cross_to[c]] += psi[c] * cross_avg[c];
    }
    for (e in 1 : E) {
      alpha_stated[e] ~ prior(alpha_prior[e], alpha_prior_args[e]');
      sigma[e] ~ prior(sigma_prior[e], sigma_prior_args[e]');
    }
  }
  for (b in 1 : B) {
    beta[b] ~ prior(beta_prior[b], beta_prior_args[b]');
  }
  for (j in 1 : BX) {
    xcoef[j] ~ prior(xcoef_prior[j], xcoef_prior_args[j]');
  }
  for (g in 1 : G) {
    gamma[g] ~ prior(gamma_prior[g], gamma_prior_args[g]');
  }
  for (i in 1 : D2) {
    nu[i] ~ prior(nu_prior[partial[i]], nu_prior_args[partial[i]]');
  }
  for (c in 1 : C) {
    psi[c] ~ prior(psi_prior[c], psi_prior_args[c]');
  }
  for (p in 1 : P) {
    theta[p] ~ prior(theta_prior[p], theta_prior_args[p]');
  }
  if (use_corr) {
    L_R[1] ~ lkj_corr_cholesky(lkj_eta);
  }
  if (use_jacobian) {
    // beta_eff = beta * f_q(1): the change of variables from beta.
    target += -sum(log(typical_saturation(adstock_type, saturation_type,
                                          theta_start, theta)[path_set]));
    // the latent mediators' noise shares (logits) and their outcomes' sds: to sigma
    target += equation_noise(sigma_free, lat_share_logit, free_eq, lat_med, lat_eq,
                             lat_gamma, gamma, E).2;
    // the pairs' totals and ratios or mediated paths and the walled gammas'
    // shares: to the paths and gammas
    target += pair_jacobian(pair_total, pair_ratio_log, pair_med_log, gamma,
                            gamma_wall_logit, pair_g, rpair, wall_g);
    // the surveys' total sds and shares: to sigma and nu
    target += survey_jacobian(sqrt(square(sigma[partial]) + square(nu)),
                              survey_share_logit);
  }
  if (!prior_only) {
    if (n_tests > 0) {
      test_lift ~ normal(network_lifts(Gam, beta, theta, D, path_eq, path_set,
                                       set_channel, test_channel, test_from,
                                       test_len,
                                       test_first_row, test_lag_with,
                                       test_lag_without, test_weight,
                                       adstock_type, l_max, saturation_type,
                                       theta_start, outcome_order, cross_to,
                                       cross_from, cross_lag, cross_mod, psi),
                         test_se);
    }
    if (n_obs > 0) {
      vector[D] obs_sd = sqrt(square(head(sigma, D)) + square(nu_med));
      obs_val ~ normal(to_vector(means.2)[obs_lin], obs_sd[obs_d]);
    }
    matrix[K, K] L_base = use_corr ? diag_pre_multiply(tail(sigma, K), L_R[1])
                                   : diag_matrix(tail(sigma, K));
    for (p in 1 : n_pat) {
      if (pat_len[p] > 0) {
        array[pat_len[p]] int rows_p
          = fit_rows[fit_order[pat_from[p] : (pat_from[p] + pat_len[p] - 1)]];
        if (!use_corr && pat_exact[p]) {
          // independent errors and no mediator uncertainty: a diagonal covariance
          for (k in 1 : K) {
            target += normal_lpdf(Y[rows_p, k] | means.2[rows_p, D + k],
                                  sigma[D + k]);
          }
        } else if (K == 1) {
          // one outcome: its variance adds gamma^2 Var[M | obs] of each mediator
          vector[D] v = mediator_variance(pat_state[p], head(sigma, D), nu_med);
          target += normal_lpdf(Y[rows_p, 1] | means.2[rows_p, E],
                                sqrt(square(sigma[E])
                                     + dot_product(v, square(Gam[ : , 1]))));
        } else {
          target += sum(mvn_rows_log_density(Y[rows_p]
                                             - means.2[rows_p, (D + 1) : E],
                                             outcome_cholesky(L_base, Gam,
                                                              pat_state[p],
                                                              head(sigma, D),
                                                              nu_med)));
        }
      }
    }
  }
}
generated quantities {
  vector[E] alpha; // intercepts
  vector[n_tests] lift_pred; // each lift test's lift as the model predicts it
  // each outcome's log density with the mediators integrated out (their observations
  // unused): what a model of the outcome without mediators predicts, for LOO
  matrix[N, K] log_lik_marginal;
  // the outcomes' joint log density with the mediators integrated out (what a model
  // of the outcomes without mediators predicts), for the pipeline's LOO; with one
  // outcome it would repeat log_lik_marginal, so is not written. Nothing downstream
  // reads a density given the mediators' observations: it is not written either
  // (written columns cost sampling time; the model block's likelihood is tested).
  vector[K > 1 ? N : 0] log_lik_outcomes;
  matrix[T, K] y_rep; // posterior predictive outcomes
  matrix[T, D] med_mean; // E[M | obs]
  matrix[save_mu ? T : 0, E] mu_out; // structural means (mediators m, outcomes mu)
  corr_matrix[K] R = use_corr ? multiply_lower_tri_self_transpose(L_R[1])
                              : identity_matrix(K);
  {
    matrix[T, Q] F = media_effects(T, L, X_set, adstock_type, l_max,
                                   saturation_type, theta_start, theta);
    vector[D] nu_med = mediator_noise(med_type, nu);
    vector[D] sigma_med = head(sigma, D);
    matrix[D, K] Gam = gamma_matrix(D, K, gamma_from, gamma_to, gamma);
    tuple(vector[E], matrix[T, E], matrix[T, D]) means
      = network_means(F, Z, cross_avg, med_value, seen_t, seen_len, seen_val,
                      fit_mean, D, K, path_eq, path_set, beta, xcoef_eq,
                      xcoef_col, xcoef, cross_to, psi, Gam, alpha_c, sigma,
                      nu_med, 0);
    alpha = means.1;
    med_mean = means.3;
    lift_pred = network_lifts(Gam, beta, theta, D, path_eq, path_set,
                              set_channel, test_channel,
                              test_from, test_len, test_first_row, test_lag_with,
                              test_lag_without, test_weight, adstock_type, l_max,
                              saturation_type, theta_start, outcome_order, cross_to,
                              cross_from, cross_lag, cross_mod, psi);
    matrix[T, K] mu_y = block(means.2, 1, D + 1, T, K);
    matrix[K, K] L_base = use_corr ? diag_pre_multiply(tail(sigma, K), L_R[1])
                                   : diag_matrix(tail(sigma, K));
    // The outcomes with the mediators integrated out: means with gamma times the
    // structural mediators, covariance with every mediator unobserved.
    matrix[N, K] resid_marginal = Y[fit_rows] - mu_y[fit_rows];
    if (D > 0) {
      resid_marginal += (med_mean[fit_rows] - means.2[fit_rows, 1 : D]) * Gam;
    }
    matrix[K, K] L_marginal = outcome_cholesky(L_base, Gam, rep_array(2, D),
                                               sigma_med, nu_med);
    if (K > 1) {
      log_lik_outcomes = mvn_rows_log_density(resid_marginal, L_marginal);
    }
    for (k in 1 : K) {
      log_lik_marginal[ : , k] = normal_log_densities(resid_marginal[ : , k],
                                                      sqrt(dot_self(L_marginal[k])));
    }
    // Predictive draws: the mediators' true values given their observations,
    // then the outcomes given those values. In held-out rows a cross-effect's
    // source is the draw (or, for mu, the forecast mean) of its row, not data.
    matrix[T, K] y_mean = mu_y;
    matrix[T, K] noise = (L_base * to_matrix(normal_rng(rep_vector(0, K * T), 1),
                                             K, T))';
    if (D > 0) {
      matrix[T, D] med_rep; // draws of the mediators' true values
      for (t in 1 : T) {
        vector[D] v = mediator_variance(state[t], sigma_med, nu_med);
        for (d in 1 : D) {
          med_rep[t, d] = v[d] > 0 ? normal_rng(med_mean[t, d], sqrt(v[d]))
                                   : med_mean[t, d];
        }
      }
      noise += (med_rep - med_mean) * Gam;
    }
    y_rep = mu_y + noise;
    if (C > 0) {
      for (t in 1 : T) {
        if (!is_fit[t]) {
          for (k in outcome_order) {
            y_mean[t, k] += forecast_shift(y_mean, Y, is_fit, y_offset, t, k,
                                           cross_to, cross_from, cross_lag,
                                           cross_mod, cross_x, psi);
            y_rep[t, k] += forecast_shift(y_rep, Y, is_fit, y_offset, t, k,
                                          cross_to, cross_from, cross_lag,
                                          cross_mod, cross_x, psi);
          }
        }
      }
    }
    if (save_mu) {
      mu_out = append_col(means.2[ : , 1 : D], y_mean);
    }
  }
}
