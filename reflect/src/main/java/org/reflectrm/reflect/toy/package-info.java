/**
 * The toy world: a small, verifiable judging domain for the demo model
 * ({@link org.reflectrm.reflect.toy.ToyDomain}), an imperfect teacher that writes base SFT
 * targets and reflection judgments in the judge's format ({@link org.reflectrm.reflect.toy.ToyTeacher}),
 * and JSONL writers for pairs and SFT data ({@link org.reflectrm.reflect.toy.ToyJsonl}).
 * See {@code docs/toy-world.md}.
 */
package org.reflectrm.reflect.toy;
