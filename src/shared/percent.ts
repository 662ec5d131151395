/** Fractions as percentages for people: 0.125 → '12.5 %'. */
export const percentValue = (x: number, digits = 1): string => (100 * x).toFixed(digits);

export const pct = (x: number, digits = 1): string => `${percentValue(x, digits)} %`;

/** `pct`, or `missing` where there is no value. */
export const pctOr = (x: number | undefined, missing = '–'): string => (x === undefined ? missing : pct(x));
