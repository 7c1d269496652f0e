// The eight schools model, non-centred: a small hierarchical benchmark.
data {
  int<lower=0> J;
  vector[J] y;
  vector<lower=0>[J] sigma;
}
parameters {
  real mu;
  real<lower=0> tau;
  vector[J] theta_raw;
}
transformed parameters {
  vector[J] theta = mu + tau * theta_raw;
}
model {
  mu ~ normal(0, 5);
  tau ~ normal(0, 5);
  theta_raw ~ std_normal();
  y ~ normal(theta, sigma);
}
