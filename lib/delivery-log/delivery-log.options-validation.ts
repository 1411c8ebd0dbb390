import type { OptionsProblem } from '../errors';
import { dtoProblems, NestedOptions, WholeNumber } from '../options/options.validator';

class DeliveryLogDto {
  @WholeNumber(1_000, 'must be a number of milliseconds, 1000 or more', 'use e.g. 2592000000 (30 days)') retention?: number;
  @WholeNumber(1, 'must be a whole number of 1 or more', 'use e.g. 100') perAddress?: number;
}

class DeliveryLogOptionsDto {
  @NestedOptions(() => DeliveryLogDto) deliveryLog?: DeliveryLogDto;
}

/** Problems of `deliveryLog`, each naming the field and the fix. */
export function deliveryLogOptionsProblems(deliveryLog: unknown): OptionsProblem[] {
  return dtoProblems(DeliveryLogOptionsDto, { deliveryLog });
}
