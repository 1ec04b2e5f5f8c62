/* Keeps the support library non-empty before helpers exist. */
typedef int sw_test_support_empty_unit;
