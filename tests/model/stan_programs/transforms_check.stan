// Exposes the shared Stan transform functions so tests can compare them with
// their NumPy twins (run with fixed_param and 18 significant digits).
functions {
  #include functions/transforms.stanfunctions
}
data {
  int<lower=1> T;
  vector<lower=0>[T] x; // a scaled media series
  int<lower=1> L;
  int<lower=1> C; // cases: one form and parameter set each
  array[C] int kind; // 0: adstock weights, 1: saturation
  array[C] int type;
  array[C] int<lower=1, upper=L> l_max;
  matrix[C, 2] p;
}
generated quantities {
  matrix[C, L] weights;
  matrix[C, T] saturated;
  for (c in 1 : C) {
    weights[c] = rep_row_vector(0, L);
    saturated[c] = rep_row_vector(0, T);
    if (kind[c] == 0) {
      weights[c] = adstock_weights(type[c], l_max[c], L, p[c]')';
    } else {
      saturated[c] = saturate(type[c], x, p[c]')';
    }
  }
}
