/**
 * ReflectRM's self-sampled training data. {@code data sample} judges labelled pairs N times each
 * ({@link org.reflectrm.reflect.data.PairSampler}, records: {@link org.reflectrm.reflect.data.SampleRecord});
 * {@code data build} turns those samples into Pref and Refl training records for GRPO, or into
 * rejection-sampling SFT data ({@link org.reflectrm.reflect.data.DataBuilder}).
 */
package org.reflectrm.reflect.data;
