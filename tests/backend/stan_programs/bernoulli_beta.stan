// A bounded parameter with a conjugate prior: theta | y ~ beta(a + s, b + n - s).
data {
  int<lower=0> N;
  array[N] int<lower=0, upper=1> y;
  real<lower=0> a;
  real<lower=0> b;
}
parameters {
  real<lower=0, upper=1> theta;
}
model {
  theta ~ beta(a, b);
  y ~ bernoulli(theta);
}
