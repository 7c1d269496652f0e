// The hierarchical (panel) model: population-level terms plus terms that vary
// by group with partial pooling, generic over configs like stan/blm.stan (the
// structure, every prior and every bound arrive as data).
//
// Rows are stacked group by group. Each group has its own noise scale. The
// group effects of varying terms are centred (z holds the group values) or
// non-centred (z ~ std_normal, value = population + tau * z): centred suits
// groups whose data pin their effects down, non-centred groups with little
// data (it avoids the funnel). Mixing the two by group length was tried and
// mixed worse than either when the long groups' effects are not sharp.
//
// Parameterised for NUTS as blm.stan is: media coefficients are sampled as the
// effect at the channel's typical level (beta_eff; for varying media also
// their group spread tau_eff and, centred, z), and each group's intercept as
// its level at the group's average effects (`level`), so intercepts do not
// trade off against coefficients and transform parameters. Priors stay on the
// stated parameters (alpha, alpha_g, beta, tau) with the Jacobians added.
functions {
  #include functions/transforms.stanfunctions
  #include functions/priors.stanfunctions
  #include functions/media.stanfunctions
  #include functions/groups.stanfunctions
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

  int<lower=0> M; // media channels
  int<lower=1> L; // longest adstock window (lags)
  array[M] matrix[T, L] X_lag; // scaled media at lags 0..L-1 (within each group)
  array[M] int<lower=0, upper=3> adstock_type; // registry code per channel
  array[M] int<lower=1, upper=L> l_max; // adstock window per channel
  array[M] int<lower=0, upper=4> saturation_type; // registry code per channel
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
  int<lower=0, upper=1> centred; // 1: centred group effects, 0: non-centred

  int<lower=0, upper=1> prior_only; // 1: ignore the likelihood
  int<lower=0, upper=1> save_mu; // 1: also write the linear predictor
  int<lower=0, upper=1> use_jacobian; // 0 for MAP without Jacobians
}
transformed data {
  int J = M + K;
  int E = V + varying_intercept; // group-level effects per group
  int Gt = group_transforms ? G : 1; // sets of transform parameters
  array[Gt] vector[P] theta_lo = rep_array(theta_lower, Gt);
  array[Gt] vector[P] theta_hi = rep_array(theta_upper, Gt);
  row_vector[T] fit_mean = rep_row_vector(0, T);
  fit_mean[fit_rows] = rep_row_vector(1.0 / N, N);
  matrix[G, T] group_mean = group_averages(G, group, fit_rows, T);
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
  vector<lower=beta_lower[(M + 1) : J], upper=beta_upper[(M + 1) : J]>[K] beta_x;
  vector<lower=0>[varying_intercept] tau_level; // sd of the group intercepts
  vector[varying_intercept ? G : 0] level; // each group's mean fitted value
  vector<lower=0>[V] tau_eff; // group sds of varying terms (media: typical level)
  matrix[G, V] z; // group effects: standardised (non-centred) or raw (centred)
  vector<lower=0>[G] sigma; // noise scale of each group
}
transformed parameters {
  vector[M] typical = typical_saturation(adstock_type, saturation_type,
                                         theta_start, theta[1]);
  // Population coefficients: media at full saturation, then the X columns.
  vector[J] beta = append_row(beta_eff ./ typical, beta_x);
  vector[E] tau; // group sds on the stated scale, intercept first
  {
    vector[V] tau_terms = tau_eff;
    for (v in 1 : V) {
      if (varying[v] <= M) {
        tau_terms[v] = tau_eff[v] / typical[varying[v]];
      }
    }
    tau = append_row(tau_level, tau_terms);
  }
}
model {
  matrix[T, M] S = panel_media_effects(T, L, X_lag, adstock_type, l_max,
                                       saturation_type, theta_start, theta,
                                       group_start, group_end);
  real alpha = alpha_c - fit_mean * (S * beta[1 : M]);
  matrix[G, J] B = group_coefficients(beta, tau_eff, z, varying, typical,
                                      centred);
  vector[T] effects = rows_dot_product(append_col(S, X), B[group]);
  vector[G] alpha_g = varying_intercept ? level - group_mean * effects
                                        : rep_vector(alpha, G);
  alpha ~ prior(alpha_prior, alpha_prior_args);
  for (g in 1 : G) {
    sigma[g] ~ prior(sigma_prior, sigma_prior_args);
  }
  for (j in 1 : J) {
    beta[j] ~ prior(beta_prior[j], beta_prior_args[j]');
  }
  for (t in 1 : size(theta)) {
    for (p in 1 : P) {
      theta[t][p] ~ prior(theta_prior[p], theta_prior_args[p]');
    }
  }
  if (varying_intercept) {
    tau_level[1] ~ prior(tau_intercept_prior, tau_intercept_prior_args);
    alpha_g ~ normal(alpha, tau_level[1]);
  }
  for (v in 1 : V) {
    int j = varying[v];
    tau[v + varying_intercept] ~ prior(tau_prior, tau_prior_args);
    if (centred) {
      z[ : , v] ~ normal(j <= M ? beta_eff[j] : beta[j], tau_eff[v]);
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
  }
  if (!prior_only) {
    vector[T] mu = alpha_g[group] + effects;
    y ~ normal(mu[fit_rows], sigma[group[fit_rows]]);
  }
}
generated quantities {
  real alpha; // population intercept
  vector[G] alpha_g; // each group's intercept
  matrix[G, J] beta_g; // each group's coefficients
  vector[N] log_lik; // pointwise log likelihood of the fitted rows
  array[T] real y_rep; // posterior predictive draws, every row
  vector[save_mu ? T : 0] mu_out; // the linear predictor, when asked for
  {
    matrix[T, M] S = panel_media_effects(T, L, X_lag, adstock_type, l_max,
                                         saturation_type, theta_start, theta,
                                         group_start, group_end);
    alpha = alpha_c - fit_mean * (S * beta[1 : M]);
    beta_g = group_coefficients(beta, tau_eff, z, varying, typical, centred);
    vector[T] effects = rows_dot_product(append_col(S, X), beta_g[group]);
    alpha_g = varying_intercept ? level - group_mean * effects
                                : rep_vector(alpha, G);
    vector[T] mu = alpha_g[group] + effects;
    for (n in 1 : N) {
      log_lik[n] = normal_lpdf(y[n] | mu[fit_rows[n]], sigma[group[fit_rows[n]]]);
    }
    y_rep = normal_rng(mu, sigma[group]);
    if (save_mu) {
      mu_out = mu;
    }
  }
}
