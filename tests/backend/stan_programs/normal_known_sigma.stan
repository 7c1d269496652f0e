// Normal mean with known noise and a normal prior: the posterior is normal
// with closed-form mean and sd, which the backend tests check against.
data {
  int<lower=0> N;
  vector[N] y;
  real mu0; // prior mean
  real<lower=0> tau0; // prior sd
  real<lower=0> sigma; // known noise sd
}
parameters {
  real mu;
}
model {
  mu ~ normal(mu0, tau0);
  y ~ normal(mu, sigma);
}
generated quantities {
  real twice_mu = 2 * mu;
  array[N] real y_rep = normal_rng(rep_vector(mu, N), sigma);
}
