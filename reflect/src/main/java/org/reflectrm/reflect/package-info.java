/**
 * The ReflectRM method on the Qwen3 engine of {@code reflectrm-model}: self-sampled training
 * data ({@code data}) and GRPO with the verdict reward ({@code grpo}).
 */
package org.reflectrm.reflect;
