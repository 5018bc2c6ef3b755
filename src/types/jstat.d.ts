/** The part of jStat (CommonJS, no bundled types) the explorer's lottery statistics use. */
declare module "jstat" {
  const jstat: {
    jStat: { chisquare: { cdf(x: number, degreesOfFreedom: number): number } };
  };
  export default jstat;
}
